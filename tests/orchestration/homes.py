"""Warehouse homes for the operations tests. A real load costs tens of seconds, so the first
load of the small crafted inbox of the e2e smoke test is done once per test session and each
test works on its own copy (hard links kept: versions are hard links of the published file)."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pytest

from tests.conftest import BIN, REPO, cli, write_csv
from tests.e2e.test_cli_load import make_inbox

# One bleeding row of ten with WHO grade 7 (valid: 0-4): quarantined, opens a site query;
# 10% of the file stays under the gate's 20% limit, so the load still publishes.
BAD_BLEEDING_SUBJECT = "TST-010"

# The second snapshot of labs: TST-003's day-7 platelets 39.9 (NR) become 45 (R: >= 30 and
# >= 2 x baseline 20), a change every mart reader can see.
CHANGED_SUBJECT = "TST-003"
LABS_V1 = "TST_labs_20210401.csv"
LABS_V2 = "TST_labs_20210501.csv"
_V1_ROW, _V2_ROW = "2021-03-07,PLT,39.9,", "2021-03-07,PLT,45,"

LOAD_WAIT_SECONDS = 600  # a bound for a wedged process, not a performance expectation


@dataclass(frozen=True)
class LoadedHome:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def sites(self) -> Path:
        return self.root / "sites.yaml"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def published(self) -> Path:
        return self.home / "warehouse.duckdb"

    def load_args(self) -> list[str]:
        return ["load", "--inbox", str(self.inbox), "--sites", str(self.sites), "--home", str(self.home)]


def _make_ops_inbox(root: Path) -> None:
    make_inbox(root)
    grades = [["TST", f"TST-{i:03d}", "2021-03-10", 7 if f"TST-{i:03d}" == BAD_BLEEDING_SUBJECT else 0]
              for i in range(1, 11)]
    write_csv(root / "inbox" / "TST_bleeding_20210401.csv",
              ["site_id", "subject_id", "assessment_date", "who_grade"], grades)


def first_load(tmp_path_factory: pytest.TempPathFactory) -> LoadedHome:
    """The published first load, built once per session (any test module may ask first)."""
    loaded = LoadedHome(tmp_path_factory.getbasetemp() / "ops-first-load")
    if loaded.published.exists():
        return loaded
    shutil.rmtree(loaded.root, ignore_errors=True)  # a failed earlier attempt
    loaded.root.mkdir(parents=True)
    _make_ops_inbox(loaded.root)
    cli(*loaded.load_args(), check=True)
    return loaded


def copy_home(source: LoadedHome, target: Path) -> LoadedHome:
    """A private copy of inbox, registry and HOME; files hard-linked together in the source
    (published file and its version) stay hard-linked, so rollback and status see versions."""
    copy = LoadedHome(target)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source.inbox, copy.inbox)
    shutil.copy2(source.sites, copy.sites)
    by_inode: dict[tuple[int, int], Path] = {}

    def copy_keeping_links(src: str, dst: str) -> str:
        info = os.stat(src)
        first = by_inode.get((info.st_dev, info.st_ino))
        if first is not None:
            os.link(first, dst)
        else:
            shutil.copy2(src, dst)
            by_inode[(info.st_dev, info.st_ino)] = Path(dst)
        return dst

    shutil.copytree(source.home, copy.home, copy_function=copy_keeping_links)
    return copy


def add_changed_labs(inbox: Path) -> Path:
    """A newer labs snapshot that changes one subject's initial response."""
    text = (inbox / LABS_V1).read_text()
    assert _V1_ROW in text, "the e2e inbox changed: update homes.py"
    changed = inbox / LABS_V2
    changed.write_text(text.replace(_V1_ROW, _V2_ROW))
    return changed


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def initial_response(published: Path, subject: str) -> str:
    with duckdb.connect(str(published), read_only=True) as conn:
        return conn.execute("SELECT best_response FROM marts.endpoint_initial_response WHERE subject_id = ?",
                            [subject]).fetchone()[0]


def endpoint_figures(published: Path) -> tuple[int, int]:
    with duckdb.connect(str(published), read_only=True) as conn:
        count, total = conn.execute("SELECT count(*), sum(n) FROM marts.endpoint_summary").fetchone()
    return int(count), int(total)


def start_load(loaded: LoadedHome, log: Path, env: dict[str, str] | None = None,
               args: list[str] | None = None) -> subprocess.Popen:
    """`itp-warehouse load` (or the command of `args`) in its own process group (so the whole
    tree, dbt included, can be killed at once), output to a file (a pipe nobody reads would
    block the load)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DAGSTER_HOME", None)
    exe = shutil.which("itp-warehouse", path=str(BIN)) or str(BIN / "itp-warehouse")
    with open(log, "wb") as out:
        return subprocess.Popen([exe, *(args or loaded.load_args())], cwd=REPO, env=full_env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen, what: str, log: Path) -> None:
    """Poll until `condition` holds; fail with the process output if it ends first."""
    deadline = time.monotonic() + LOAD_WAIT_SECONDS
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.returncode}) before {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


def group_members(pgid: int) -> dict[int, list[str]]:
    """Live (non-zombie) processes of a process group, by pid, with their command lines."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members[int(entry.name)] = [a.decode(errors="replace") for a in cmdline if a]
    return members

