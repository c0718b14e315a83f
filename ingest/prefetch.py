"""Reading and row-checking the next files of a load in worker processes, while the loader
stores the current one.

Why: reading (parsing cells, row checks) is pure Python and takes most of a large load, and a
load stores one file at a time in one DuckDB transaction. On a machine with two or more cores,
worker processes read the next files ahead; the loader only stores what they return, in the
same order and with the same outcome as when it reads a file itself (`checked_chunks`).

Bounds: files are read ahead up to `WINDOW_BYTES` of files (at least `workers + 1` files, at most
`WINDOW_FILES`), and only files small enough to be held whole in memory (`PREFETCH_MAX_BYTES`);
larger files are streamed by the loader itself, chunk by chunk, as before. A worker that dies
(killed for memory, say) costs nothing but time: the loader reads the remaining files itself.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import pandas as pd

from quality import schemas
from sources.bounds import ReadLimits
from sources.model import ExportName, FileRefused, InboxFile, RowError
from sources.readers import open_export
from sources.registry import SiteConfig

# A file is read ahead only below this size (xlsx: compressed, so a smaller bound).
PREFETCH_MAX_BYTES = {"csv": 64 << 20, "xlsx": 8 << 20}
# Below this many bytes of new files, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 32 << 20
# Files read ahead at once: up to this many bytes of files (and at least one per worker, plus
# the one the loader waits for). A count alone starves the workers: an export's one large file
# (labs) sits between six small ones, so a window of a few files holds one large file at a time.
WINDOW_BYTES = 32 << 20
WINDOW_FILES = 64


@dataclass
class CheckedChunk:
    accepted: pd.DataFrame       # rows that passed the row checks, ready for raw.<domain>
    errors: list[RowError]       # parse errors and row-check failures
    rows_read: int
    stored: int = 0              # rows already in raw.<domain> (the native path stores its own)


@dataclass
class FileRead:
    """What reading one file gave: its chunks, or why it was refused or failed."""
    dropped_columns: list[str] = field(default_factory=list)
    chunks: list[CheckedChunk] = field(default_factory=list)
    refused: FileRefused | None = None   # why the file was refused (reason and code)
    failure: str | None = None   # the exception type of an unexpected error (never its text)
    cut_short: str | None = None   # ExportReader.cut_short: why the file looks cut short
    # Read by DuckDB in the worker (ingest.native_intake.read_ahead): the rows it stored, in a
    # Parquet file of raw.<domain>'s columns for the loader to insert as they are; the chunks
    # then hold only the row errors and counts.
    rows_file: str | None = None


class ReadFailed(Exception):
    """A worker met an unexpected error reading a file; `kind` is the exception's type name."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def checked_chunks(reader, name: ExportName) -> Iterator[CheckedChunk]:
    """The file's chunks after the row checks: the one way a file is read, here or in a worker."""
    for chunk in reader:
        accepted, failures = schemas.check_rows(name.domain, chunk.rows, name.export_date)
        yield CheckedChunk(accepted, list(chunk.errors) + failures, chunk.rows_read)


def guarded(read: Callable[[], FileRead]) -> FileRead:
    """What a worker returns for one file: `read()`, or the reason it was refused, or the type of
    the error it met (every worker entry point reads through this)."""
    try:
        return read()
    except FileRefused as refused:
        return FileRead(refused=refused)
    except Exception as exc:  # noqa: BLE001 - the text may quote a cell: only the type travels
        return FileRead(failure=type(exc).__name__)


def read_whole(file: InboxFile, name: ExportName, site: SiteConfig, limits: ReadLimits | None = None) -> FileRead:
    """Worker entry point: the whole file read and checked, or the reason it was not."""
    def read() -> FileRead:
        reader = open_export(file, name, site, limits=limits)
        chunks = list(checked_chunks(reader, name))
        return FileRead(dropped_columns=list(reader.dropped_columns), chunks=chunks, cut_short=reader.cut_short)
    return guarded(read)


def window_has_room(in_flight: list[int], size: int, min_files: int) -> bool:
    """Whether a file of `size` bytes may be read ahead beside the files in flight."""
    if len(in_flight) < min_files:
        return True
    return len(in_flight) < WINDOW_FILES and sum(in_flight) + size <= WINDOW_BYTES


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


class Prefetcher:
    """Files of a load read ahead in worker processes, in the loader's order.

    `plan` is every file the loader is going to read, in order; `take(file)` returns the
    file's FileRead when it was read ahead, or None when the loader must read it itself.
    `reader(file, name, site, limits)` reads one file in a worker (a module-level function, so
    that it pickles): `read_whole`, or the native path's `native_intake.read_ahead`."""

    def __init__(self, plan: list[tuple[InboxFile, ExportName, SiteConfig]], workers: int,
                 limits: ReadLimits | None = None, reader: Callable[..., FileRead] = read_whole):
        self._limits = limits
        self._reader = reader
        self._plan = [p for p in plan if p[0].size <= PREFETCH_MAX_BYTES.get(p[1].ext, 0)]
        self._next = 0
        # inbox path -> (its read, its size). Not the sha256: two sites may send the same bytes
        # (an empty snapshot), and each is a snapshot of its own (site-exports.md §1).
        self._futures: dict[str, tuple[Future, int]] = {}
        self._min_ahead = workers + 1
        self._pool: ProcessPoolExecutor | None = None
        if self._plan and workers > 0:
            # spawn, not fork: the loader runs inside Dagster, whose threads a fork would copy
            # mid-flight (a lock held by another thread stays held forever in the child).
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
            self._fill()

    def _fill(self) -> None:
        while (self._pool is not None and self._next < len(self._plan)
               and window_has_room([s for _, s in self._futures.values()], self._plan[self._next][0].size,
                                   self._min_ahead)):
            file, name, site = self._plan[self._next]
            self._next += 1
            self._futures[file.rel_path] = (self._pool.submit(self._reader, file, name, site, self._limits), file.size)

    def take(self, file: InboxFile) -> FileRead | None:
        ahead = self._futures.pop(file.rel_path, None)
        if ahead is None:
            return None
        future, _ = ahead
        try:
            result = future.result()
        except BrokenProcessPool:   # a worker died: read the rest in the loader
            self.close()
            return None
        self._fill()
        return result

    def close(self) -> None:
        if self._pool is not None:
            for future, _ in self._futures.values():
                future.cancel()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._futures.clear()
