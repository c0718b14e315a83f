"""Analysts reading the published warehouse while a load publishes a new version see whole
versions only, never an error, a lock or a mix."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli
from tests.orchestration.homes import add_changed_labs, copy_home, endpoint_figures, first_load, wait_until

QUERY = "SELECT count(*), sum(n) FROM marts.endpoint_summary"

# Separate processes, as analysts' sessions are: DuckDB shares one database instance per path
# inside a process, so a connection held open would make every later connect() of the same
# process see its version. Mode "fresh" opens a new read-only connection per read; mode "long"
# reads through one connection opened at the start. Each stops after the first read that began
# once `stop` existed, and writes one JSON line per read: {"ok": [count, sum]} or {"error": ...}.
READER = """
import json, pathlib, sys, time
import duckdb

mode, published, out, stop, query = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]), pathlib.Path(sys.argv[4]), sys.argv[5]

def read(conn):
    count, total = conn.execute(query).fetchone()
    return [int(count), int(total)]

def fresh():
    with duckdb.connect(published, read_only=True) as conn:
        return read(conn)

long_lived = duckdb.connect(published, read_only=True) if mode == "long" else None
with out.open("w") as results:
    while True:
        last = stop.exists()
        try:
            record = {"ok": read(long_lived) if long_lived else fresh()}
        except Exception as exc:
            record = {"error": f"{type(exc).__name__}: {exc}"}
        results.write(json.dumps(record) + "\\n")
        results.flush()
        if last:
            break
        time.sleep(0.1)   # often enough to see the switch; more would slow the load down
"""


def start_reader(mode: str, published: Path, workdir: Path, stop: Path) -> tuple[subprocess.Popen, Path, Path]:
    results, log = workdir / f"reads-{mode}.jsonl", workdir / f"reader-{mode}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", READER, mode, str(published), str(results), str(stop), QUERY],
                                stdout=out, stderr=subprocess.STDOUT)
    return proc, results, log


def reads(results: Path) -> list[dict]:
    """The complete lines so far (the reader may be writing the last one)."""
    text = results.read_text() if results.exists() else ""
    return [json.loads(line) for line in text.split("\n")[:-1]]


def test_readers_see_whole_versions_while_a_load_publishes(tmp_path_factory, tmp_path):
    loaded = copy_home(first_load(tmp_path_factory), tmp_path / "copy")
    add_changed_labs(loaded.inbox)
    old = list(endpoint_figures(loaded.published))
    stop = tmp_path / "stop"
    readers = {mode: start_reader(mode, loaded.published, tmp_path, stop) for mode in ("fresh", "long")}
    try:
        for proc, results, log in readers.values():
            wait_until(lambda: len(reads(results)) > 0, proc, "the reader's first result", log)
        load = cli(*loaded.load_args())
        stop.touch()
        for proc, _, log in readers.values():
            assert proc.wait(timeout=120) == 0, log.read_text()
    finally:
        stop.touch()
        for proc, _, _ in readers.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert load.returncode == 0 and "published" in load.stdout, load.stdout + load.stderr

    new = list(endpoint_figures(loaded.published))
    assert new != old, "the load must publish different figures for this test to mean anything"
    fresh, long_lived = (reads(readers[mode][1]) for mode in ("fresh", "long"))
    errors = [r["error"] for r in fresh + long_lived if "error" in r]
    assert errors == [], errors[:5]
    seen = [r["ok"] for r in fresh]
    assert all(f in (old, new) for f in seen), [f for f in seen if f not in (old, new)][:5]
    assert seen[0] == old and seen[-1] == new  # the reader did see the switch
    assert all(r["ok"] == old for r in long_lived)  # an open session keeps the version it opened
