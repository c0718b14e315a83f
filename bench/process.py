"""Run one command as a child process and watch the memory of its whole process tree.

Why a sampler and not only getrusage: a load is a Python process that starts dbt as its own
child, so the operator's question ("will it fit in 4 GB?") is about the *sum* of the tree at
its worst moment, which no rusage field gives. ru_maxrss from wait4 is kept as well: it is
exact, but only for the single largest process of the tree.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_INTERVAL_S = 1.0   # a /proc scan per sample: more often would take CPU from the load it measures


@dataclass(frozen=True)
class RssSample:
    at: float          # time.time(): the clock of Dagster's event timestamps
    rss_bytes: int     # resident set size summed over the process and all its descendants
    processes: int


@dataclass
class MeasuredProcess:
    command: list[str]
    returncode: int
    started_at: float
    finished_at: float
    samples: list[RssSample] = field(default_factory=list)
    largest_process_maxrss_bytes: int = 0   # wait4 ru_maxrss of the tree's largest process
    stdout_file: Path | None = None
    stderr_file: Path | None = None

    @property
    def wall_s(self) -> float:
        return self.finished_at - self.started_at

    def peak_rss_bytes(self, start: float | None = None, end: float | None = None) -> int:
        """Peak tree RSS between start and end (the whole run without them). A window shorter
        than the sampling interval still gets the samples just around it."""
        lo = (start if start is not None else self.started_at) - SAMPLE_INTERVAL_S
        hi = (end if end is not None else self.finished_at) + SAMPLE_INTERVAL_S
        return max((s.rss_bytes for s in self.samples if lo <= s.at <= hi), default=0)

    def stderr_tail(self, lines: int = 30) -> str:
        if self.stderr_file is None or not self.stderr_file.exists():
            return ""
        return "\n".join(self.stderr_file.read_text(errors="replace").splitlines()[-lines:])


def _parent_map() -> dict[int, list[int]]:
    """ppid -> children, from /proc/<pid>/stat (this kernel has no /proc/<pid>/task/*/children)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # exited between listing and reading
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root: int) -> tuple[int, int]:
    """(summed RSS in bytes, number of processes) of root and its descendants. Shared pages
    are counted once per process: an upper bound, which is the safe side for a memory target."""
    children = _parent_map()
    total, count, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_bytes(pid)
        count += 1
        todo.extend(children.get(pid, ()))
    return total, count


class _Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[RssSample] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss, count = tree_rss(self.pid)
            self.samples.append(RssSample(time.time(), rss, count))
            self.stop.wait(self.interval)


def run_measured(command: list[str], *, cwd: Path, env: dict[str, str], log_dir: Path, name: str,
                 interval: float = SAMPLE_INTERVAL_S) -> MeasuredProcess:
    """Run `command` to completion, sampling its tree's RSS; stdout/stderr go to
    log_dir/<name>.out and .err (a load logs every Dagster event: far too much for a pipe)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_file, err_file = log_dir / f"{name}.out", log_dir / f"{name}.err"
    with open(out_file, "wb") as out, open(err_file, "wb") as err:
        started = time.time()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        sampler = _Sampler(proc.pid, interval)
        sampler.start()
        # wait4, not proc.wait(): its rusage is this child's own, where RUSAGE_CHILDREN would
        # mix in every earlier child of the harness (the generator, the previous load).
        _, status, usage = os.wait4(proc.pid, 0)
        finished = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
    return MeasuredProcess(command=command, returncode=proc.returncode, started_at=started,
                           finished_at=finished, samples=sampler.samples,
                           largest_process_maxrss_bytes=usage.ru_maxrss * 1024,  # Linux: KiB
                           stdout_file=out_file, stderr_file=err_file)

