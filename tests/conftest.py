"""Shared fixtures. Tests run the real components: DuckDB files, dbt subprocesses, Dagster
in-process runs and the installed `itp-warehouse` console script."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# One dbt state folder per xdist worker, as two installations have: the fixed link to a load's
# candidate (orchestration.dbt_link) admits one dbt build at a time per folder, so a shared
# folder made one worker wait while the other's dbt ran. Each worker pays one parse instead.
# Set before any test module imports orchestration (it reads the setting at import).
if os.environ.get("PYTEST_XDIST_WORKER") and "ITP_DBT_STATE_DIR" not in os.environ:
    import hashlib
    import platformdirs
    checkout = hashlib.sha256(str(REPO).encode()).hexdigest()[:12]
    os.environ["ITP_DBT_STATE_DIR"] = str(
        Path(platformdirs.user_cache_dir("itp-warehouse", appauthor=False))
        / f"dbt-tests-{checkout}-{os.environ['PYTEST_XDIST_WORKER']}")

# `make test` runs two workers, one test file at a time each (pytest-xdist, --dist loadfile),
# handing out files in collection order. The files that take a minute or more (several real
# loads each; measured with --durations) go first, so the last file handed out is a short one
# and both workers finish together instead of one waiting for a long file started last.
LONG_FILES = (
    "tests/orchestration/test_faults.py",
    "tests/e2e/test_snapshot_identity.py",
    "tests/e2e/test_incremental_labs.py",
    "tests/hostile/test_hostile_loads.py",
    "tests/adam/test_study_id.py",
    "tests/bench/test_harness.py",
    "tests/postgres/test_publication.py",
    "tests/e2e/test_cdisc_pilot.py",
    "tests/privacy/test_privacy.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [f for f in LONG_FILES if not (REPO / f).is_file()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py LONG_FILES names files that do not exist: {missing}")
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(REPO).as_posix()
        return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)
    items.sort(key=rank)   # stable: the order within a file, and of the other files, is kept


def cli(*args: str, env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """Run the installed console script, as a data engineer would."""
    exe = shutil.which("itp-warehouse", path=str(BIN)) or str(BIN / "itp-warehouse")
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DAGSTER_HOME", None)
    proc = subprocess.run([exe, *args], capture_output=True, text=True, env=full_env, cwd=REPO)
    if check and proc.returncode != 0:
        raise AssertionError(f"itp-warehouse {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def write_csv(path: Path, header: list[str], rows: list[list[object]], *, delimiter: str = ",",
              encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [delimiter.join(header)] + [delimiter.join("" if v is None else str(v) for v in r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


SIMPLE_REGISTRY = """\
sites:
  TST:
    name: Test Hospital
    encoding: utf-8
    delimiter: ","
    decimal: "."
    date_format: "%Y-%m-%d"
"""


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory):
    """The wheel, installed non-editable into a fresh venv (tests/wheel.py says why that venv
    sees the pinned dependencies but nothing of the checkout)."""
    from tests.wheel import install_wheel

    return install_wheel(tmp_path_factory.mktemp("wheel"))


def shared_by_workers(tmp_path_factory, name: str) -> tuple[Path, TextIO | None]:
    """A folder built once per test session, by whichever pytest-xdist worker asks first; the
    others wait for it and read it. (root, lock): lock is None when the folder is built;
    else the builder holds it (closing it lets the others in) and touches root/.built when
    done. The workers' temporary folders share their parent, which is new for every run."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / f"shared-{name}"
    lock = open(f"{root}.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    if (root / ".built").exists():
        lock.close()
        return root, None
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return root, lock


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory, request) -> Path:
    """One real `itp-warehouse demo` per test session (generator, checks, dbt, publish), run as
    a deployment runs it: the installed wheel's console script, from a folder that is not the
    checkout, dbt writing to a folder of its own (ITP_DBT_STATE_DIR). Every test that needs the
    demo warehouse shares it, read-only, on both workers (about 45 s of CPU a build)."""
    root, lock = shared_by_workers(tmp_path_factory, "demo")
    home, elsewhere = root / "home", root / "elsewhere"
    if lock is None:
        return home
    with lock:
        installed_wheel = request.getfixturevalue("installed_wheel")
        elsewhere.mkdir()
        env = {**os.environ, "ITP_DBT_STATE_DIR": str(root / "dbt_state")}
        env.pop("DAGSTER_HOME", None)
        proc = subprocess.run([str(installed_wheel.bin / "itp-warehouse"), "demo", "--home", str(home)],
                              capture_output=True, text=True, env=env, cwd=elsewhere)
        if proc.returncode != 0:
            pytest.fail("itp-warehouse demo failed:\n" + "\n".join((proc.stdout + proc.stderr).splitlines()[-40:]))
        (home / "demo_stdout.txt").write_text(proc.stdout)
        (home / "demo_stderr.txt").write_text(proc.stderr)
        # Which installation ran it (the other worker's wheel did not): tests/e2e/test_wheel.py.
        (root / "wheel.json").write_text(json.dumps({"site_packages": str(installed_wheel.site_packages),
                                                     "files_at_install": sorted(installed_wheel.files_at_install)}))
        (root / ".built").touch()
    return home


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server per test session (Debian's package, Unix socket only, run as
    the `postgres` user when the tests run as root); tests make their own databases in it."""
    from tests.postgres_server import running_server

    with running_server() as server:
        yield server
