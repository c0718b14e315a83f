"""A real wheel: `pip install` (not editable) into a fresh venv, then `itp-warehouse demo` from a
folder that is not the checkout (the session's `demo_home` runs exactly that; tests/wheel.py
says why the fresh venv is faithful). Cost: the build and the install, about 10 s; the demo
load is the session's one, shared with every demo test."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.wheel import PACKAGES, REPO, package_files

SKIPPED_BY_DBT = {"target", "logs", ".user.yml"}   # what dbt writes: never shipped


def _run(installed_wheel, code: str) -> str:
    return subprocess.run([str(installed_wheel.python), "-c", code], check=True, capture_output=True,
                          text=True, cwd=installed_wheel.venv).stdout.strip()


def test_the_installed_packages_are_the_wheels_not_the_checkouts(installed_wheel):
    where = _run(installed_wheel, f"import {', '.join(PACKAGES)}, sources.study_parameters as p\n"
                                  f"print({', '.join(f'{p}.__file__' for p in PACKAGES)}, p.DBT_PROJECT_DIR)")
    for path in where.split():
        assert Path(path).is_relative_to(installed_wheel.site_packages), where
        assert not Path(path).resolve().is_relative_to(REPO), where


def test_the_wheel_ships_the_whole_dbt_project_and_nothing_dbt_wrote(installed_wheel):
    installed = installed_wheel.site_packages / "sources" / "dbt_project"
    assert installed.is_dir() and not installed.is_symlink()
    shipped = {p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()}
    in_checkout = {p.relative_to(REPO / "dbt_project").as_posix() for p in (REPO / "dbt_project").rglob("*")
                   if p.is_file() and not set(p.relative_to(REPO / "dbt_project").parts) & SKIPPED_BY_DBT}
    assert shipped == in_checkout
    assert {"dbt_project.yml", "profiles.yml", "seeds/lab_tests.csv", "macros/portability.sql"} <= shipped


def test_the_report_template_ships_too(installed_wheel):
    assert (installed_wheel.site_packages / "orchestration" / "report" / "templates" / "report.html.j2").is_file()


def test_the_demo_ran_from_the_installed_wheel_and_published(installed_wheel, demo_home):
    out = (demo_home / "demo_stdout.txt").read_text()
    assert "published" in out and (demo_home / "warehouse.duckdb").is_file()
    assert "Endpoint summary" in out


def test_a_load_writes_nothing_into_the_installed_package(demo_home):
    """dbt's target/ and logs/ live outside the package (ITP_DBT_STATE_DIR, else the user's
    cache): a package installed read-only by root serves a loader that cannot write it. (The
    installation that ran the demo: either worker's.)"""
    ran = json.loads((demo_home.parent / "wheel.json").read_text())
    site_packages = Path(ran["site_packages"])
    assert package_files(site_packages) == frozenset(ran["files_at_install"]) != frozenset()
    assert not (site_packages / "sources" / "dbt_project" / "target").exists()
    assert (demo_home.parent / "dbt_state" / "target" / "manifest.json").is_file()


def test_version(installed_wheel):
    proc = subprocess.run([str(installed_wheel.bin / "itp-warehouse"), "--version"], capture_output=True,
                          text=True, cwd=installed_wheel.venv)
    assert proc.returncode == 0 and proc.stdout.startswith("itp-warehouse 0."), proc.stdout + proc.stderr
