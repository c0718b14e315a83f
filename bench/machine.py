"""The machine a benchmark ran on: without it a wall time means nothing. The load average is
recorded before and after because a shared machine makes every time longer."""
from __future__ import annotations

import os
import platform
import re
import socket
from dataclasses import dataclass
from importlib import metadata

PACKAGES = ("duckdb", "dagster", "dbt-core", "dbt-duckdb", "pandera", "great_expectations", "pandas")


@dataclass
class Machine:
    name: str
    nproc: int
    ram_gb: float
    cpu_model: str
    os: str
    python: str
    packages: dict[str, str]
    load_average_before: list[float]
    load_average_after: list[float] | None = None


def _proc_field(path: str, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        return None
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_name(override: str | None = None) -> str:
    """A file-name-safe name: the given one, else the host name."""
    raw = override or socket.gethostname() or "machine"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-") or "machine"


def describe(name: str) -> Machine:
    mem_kb = _proc_field("/proc/meminfo", "MemTotal") or "0 kB"
    return Machine(
        name=name,
        nproc=len(os.sched_getaffinity(0)),
        ram_gb=round(int(mem_kb.split()[0]) / 1024 / 1024, 1),
        cpu_model=_proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        packages={p: _version(p) for p in PACKAGES},
        load_average_before=[round(x, 2) for x in os.getloadavg()],
    )


def finish(machine: Machine) -> None:
    machine.load_average_after = [round(x, 2) for x in os.getloadavg()]
