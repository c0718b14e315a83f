"""Write-audit-publish on files: a load builds a candidate copy, audits it, and publishes it
with one atomic rename, so the published warehouse is never half-built, locked or wrong.

DuckDB allows one writer per file and cannot rename schemas (stack-notes pitfalls 1 and 24),
so the unit of publication is the whole file. Analysts' read-only connections keep the inode
they opened; new connections see the new version.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

PUBLISHED_NAME = "warehouse.duckdb"


@dataclass(frozen=True)
class WarehouseHome:
    root: Path

    @property
    def published(self) -> Path:
        return self.root / PUBLISHED_NAME

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def candidate(self, load_id: str) -> Path:
        return self.build_dir / f"{load_id}.duckdb"

    def data_docs(self, load_id: str) -> Path:
        return self.root / "data_docs" / load_id

    @property
    def inbox_hashes(self) -> Path:
        """The inbox files' sha256 by stat stamp, kept between loads (sources.inbox.HashCache)."""
        return self.root / "inbox_hashes.json"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def log_file(self, load_id: str) -> Path:
        """The full Dagster and dbt log of a load run by the CLI."""
        return self.logs_dir / f"{load_id}.log"

    def dbt_artifacts(self, load_id: str) -> Path:
        """dbt's own files of a load: run_results.json, compiled SQL, dbt.log (debug)."""
        return self.logs_dir / f"{load_id}.dbt"

    def versions(self) -> list[Path]:
        """Published versions, oldest first (names start with the publication time)."""
        if not self.versions_dir.exists():
            return []
        return sorted(self.versions_dir.glob("*.duckdb"))

    def current_version(self) -> Path | None:
        """The version the published file is (same inode: versions are hard links)."""
        if not self.published.exists():
            return None
        ino = self.published.stat().st_ino
        return next((v for v in self.versions() if v.stat().st_ino == ino), None)


class LoadInProgress(RuntimeError):
    pass


# Locks held by this process, by build folder: a load process holds its HOME's lock until it
# exits (each Dagster run, and each CLI load, is its own process).
_HELD_LOCKS: dict[Path, int] = {}


def _lock_home(home: WarehouseHome) -> None:
    """One load at a time per HOME: a second one (CLI during a scheduled run) stops at once
    instead of deleting the running load's candidate."""
    key = home.build_dir.resolve()
    if key in _HELD_LOCKS:
        return
    fd = os.open(key / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LoadInProgress(f"another load is running on {home.root}; try again when it ends") from None
    _HELD_LOCKS[key] = fd


@dataclass
class _EarlyCopy:
    """The published warehouse being copied in a background thread (start_early_copy)."""
    path: Path
    source: os.stat_result
    thread: threading.Thread | None = None
    error: BaseException | None = field(default=None, repr=False)

    def run(self, published: Path) -> None:
        try:
            shutil.copyfile(published, self.path)
        except BaseException as exc:   # a full disk: create_candidate copies again and says so
            self.error = exc
            self.path.unlink(missing_ok=True)

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def discard(self) -> None:
        self.wait()
        self.path.unlink(missing_ok=True)

    def take(self, published: Path, candidate: Path) -> bool:
        """Wait for the copy; move it to `candidate` if it is a whole copy of what is published
        now (a rollback in between has published another inode)."""
        self.wait()
        try:
            now = published.stat()
        except FileNotFoundError:
            now = None
        if self.error is not None or now is None or (now.st_dev, now.st_ino) != (self.source.st_dev, self.source.st_ino):
            self.discard()
            return False
        os.replace(self.path, candidate)
        return True


# Early copies started by this process, by build folder (start_early_copy).
_EARLY_COPIES: dict[Path, _EarlyCopy] = {}


def start_early_copy(home: WarehouseHome) -> bool:
    """Start copying the published warehouse to the next candidate now, in a thread, so that the
    copy (the whole file: about 2 GB and 1.3-6 s at 100,000 subjects) overlaps the seconds a
    load spends importing Dagster and dbt and starting its run; create_candidate waits for it.
    The copy runs in the kernel (sendfile), off the interpreter's lock.

    Takes the HOME's lock first, as create_candidate would: False (nothing started) when
    another load holds it (create_candidate then says so), when nothing is published yet, or
    when a copy is already under way. A published version is never written in place (a load
    publishes another file by rename), so what the thread copies is one whole version; the
    copy is used only if that version is still the published one."""
    home.build_dir.mkdir(parents=True, exist_ok=True)
    key = home.build_dir.resolve()
    if key in _EARLY_COPIES:
        return False
    try:
        _lock_home(home)
    except LoadInProgress:
        return False
    _remove_leftovers(home)
    try:
        source = home.published.stat()
    except FileNotFoundError:
        return False
    early = _EarlyCopy(home.build_dir / f".early-copy-{os.getpid()}.duckdb", source)
    early.thread = threading.Thread(target=early.run, args=(home.published,), name="early-copy", daemon=True)
    _EARLY_COPIES[key] = early
    early.thread.start()
    return True


def drop_early_copy(home: WarehouseHome) -> None:
    """The early copy of a load that ended before it took it (a wrong registry, say): waited
    for and removed, rather than left at 2 GB until the next load."""
    early = _EARLY_COPIES.pop(home.build_dir.resolve(), None)
    if early is not None:
        early.discard()


def _remove_leftovers(home: WarehouseHome, keep: Path | None = None) -> None:
    """Files of killed loads in the build folder: never published, so junk (under the lock)."""
    for stale in home.build_dir.iterdir():
        if stale.is_file() and stale.name != ".lock" and stale != keep:
            stale.unlink()


def create_candidate(home: WarehouseHome, load_id: str) -> Path:
    """A private copy of the published warehouse (or nothing, on the first load) to build into:
    the early copy this process started (start_early_copy) if it is one of what is published
    now, else a copy made here.

    Leftovers of killed loads are removed first: they were never published, so they are junk.
    """
    home.build_dir.mkdir(parents=True, exist_ok=True)
    _lock_home(home)
    early = _EARLY_COPIES.pop(home.build_dir.resolve(), None)
    _remove_leftovers(home, keep=early.path if early else None)
    candidate = home.candidate(load_id)
    if early is not None and early.take(home.published, candidate):
        os.chmod(candidate, 0o644)
        return candidate
    if home.published.exists():
        try:
            shutil.copyfile(home.published, candidate)
        except BaseException:   # a full disk: leave no partial copy behind
            candidate.unlink(missing_ok=True)
            raise
        os.chmod(candidate, 0o644)
    return candidate


def discard_candidate(home: WarehouseHome, load_id: str) -> None:
    """Remove what a failed load left of its candidate (never published: junk)."""
    for path in (home.candidate(load_id), Path(f"{home.candidate(load_id)}.wal")):
        path.unlink(missing_ok=True)


def reject_candidate(home: WarehouseHome, load_id: str, *, keep: int = 3) -> Path | None:
    """A candidate that failed its audit is kept aside (never published) so monitors can see
    what was wrong; only the last `keep` are kept."""
    candidate = home.candidate(load_id)
    if not candidate.exists():
        return None
    rejected_dir = home.root / "rejected"
    rejected_dir.mkdir(parents=True, exist_ok=True)
    target = rejected_dir / candidate.name
    os.replace(candidate, target)
    Path(f"{candidate}.wal").unlink(missing_ok=True)
    kept = sorted(rejected_dir.glob("*.duckdb"), key=lambda p: p.stat().st_mtime)
    for old in kept[:-keep]:
        old.unlink()
    return target


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(home: WarehouseHome, load_id: str, *, keep_versions: int = 5) -> Path:
    """Atomically make the candidate the published warehouse; keep it as a version too."""
    candidate = home.candidate(load_id)
    if Path(f"{candidate}.wal").exists():
        raise RuntimeError(f"candidate {candidate} still has a write-ahead log: it was not closed")
    _fsync(candidate)
    os.chmod(candidate, 0o444)  # analysts read; nothing writes a published version in place
    home.versions_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    version = home.versions_dir / f"{stamp}_{load_id}.duckdb"
    os.link(candidate, version)
    os.replace(candidate, home.published)
    _fsync(home.root)
    _prune(home, keep_versions)
    return version


def _prune(home: WarehouseHome, keep: int) -> None:
    current = home.current_version()
    for old in home.versions()[:-keep] if keep > 0 else []:
        if old != current:
            old.unlink()


def rollback(home: WarehouseHome) -> Path:
    """Publish again the version before the current one. Returns the restored version."""
    versions = home.versions()
    current = home.current_version()
    if current is None or current not in versions:
        raise RuntimeError("no published version to roll back from")
    idx = versions.index(current)
    if idx == 0:
        raise RuntimeError(f"{current.name} is the oldest kept version; nothing to roll back to")
    previous = versions[idx - 1]
    tmp = home.root / f".rollback-{previous.name}"
    tmp.unlink(missing_ok=True)
    os.link(previous, tmp)
    os.replace(tmp, home.published)
    _fsync(home.root)
    return previous
