"""The ADaM package of the demo warehouse, written once per session by the real command."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import cli


@dataclass
class Package:
    home: Path
    out: Path
    proc: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def demo_package(demo_home: Path, tmp_path_factory) -> Package:
    out = tmp_path_factory.mktemp("adam") / "package"
    proc = cli("adam", "--home", str(demo_home), "--out", str(out))
    return Package(demo_home, out, proc)


def copy_home(demo_home: Path, tmp_path: Path) -> Path:
    """A writable copy of the published demo warehouse (the demo's own stays read-only)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(demo_home / "warehouse.duckdb", home / "warehouse.duckdb")
    return home
