"""The product as a data engineer deploys it: the wheel that `pip install .` builds, installed
non-editable into a fresh virtual environment and run from a folder that is not the checkout.

Why this is a faithful check although it installs no dependency (a full install costs minutes):
- The wheel is built by the same backend `pip install .` uses (setuptools, through pip), from a
  copy of the checkout, and installed by pip, non-editable. `orchestration`, `sources`,
  `quality`, `ingest`, `monitoring`, `demo` and the dbt project inside it are then the fresh venv's own files
  (`test_wheel.py` asserts that `import orchestration` resolves there).
- The dependencies, exactly the pinned ones, are made importable by a `.pth` file appending
  the project venv's site-packages to sys.path, after the fresh venv's own. A path line in a
  .pth adds that folder but does not run the folder's own .pth files, so the project's
  editable install (a .pth import hook onto the checkout) is not active in the fresh venv:
  nothing of the checkout is importable there.
- `--no-deps` installs no console script of a dependency. The one the product runs, `dbt`,
  is written as pip writes it: dbt-core's entry point under the fresh interpreter.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Not part of a build: the environment, VCS data, build leftovers, a demo HOME, the test and
# bench trees. (What dbt once wrote under dbt_project/ is copied: the wheel must leave it out.)
_ANYWHERE = shutil.ignore_patterns("*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis")
_TOP = {".venv", ".git", "build", "dist", "demo_home", "tests", "bench"}


def _not_sources(folder: str, names: list[str]) -> set[str]:
    return set(_ANYWHERE(folder, names)) | (_TOP & set(names) if Path(folder) == REPO else set())


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    venv: Path
    site_packages: Path
    files_at_install: frozenset[str]    # our packages' files (bytecode caches aside), as installed

    def package_files(self) -> frozenset[str]:
        return package_files(self.site_packages)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"


def build_wheel(work: Path) -> Path:
    """The wheel of a copy of the checkout (the copy keeps sources/dbt_project a link, as git does)."""
    src = work / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=_not_sources)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(work / "dist"), str(src)], check=True, capture_output=True, text=True)
    [wheel] = (work / "dist").glob("itp_warehouse-*.whl")
    return wheel


def _write_dbt_script(bin_dir: Path, python: Path) -> None:
    [entry] = entry_points(group="console_scripts", name="dbt")
    module, func = entry.value.split(":")
    script = bin_dir / "dbt"
    script.write_text(f"#!{python}\nimport sys\nfrom {module} import {func}\n"
                      f"if __name__ == '__main__':\n    sys.exit({func}())\n")
    script.chmod(0o755)


PACKAGES = ("orchestration", "sources", "quality", "ingest", "monitoring", "demo")   # pyproject's packages


def package_files(site_packages: Path) -> frozenset[str]:
    return frozenset(p.relative_to(site_packages).as_posix() for package in PACKAGES
                     for p in (site_packages / package).rglob("*") if "__pycache__" not in p.parts)


def install_wheel(work: Path) -> InstalledWheel:
    wheel = build_wheel(work)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True, text=True)
    site_packages = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        check=True, capture_output=True, text=True).stdout.strip())
    (site_packages / "itp_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _write_dbt_script(venv / "bin", python)
    return InstalledWheel(wheel, venv, site_packages, package_files(site_packages))
