"""The dbt project as Dagster assets: staging -> intermediate -> marts, built into the load's
candidate warehouse. dbt data tests become asset checks; error-severity ones block publishing.
"""

import fcntl
import hashlib
import os
import subprocess
import sys
from functools import cache, cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
import duckdb
from packaging.version import Version
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt_link import link_path, linked_candidate
from orchestration.faults import fault_point
from orchestration.publishing import reject_candidate
from orchestration.resources import WarehouseSettings
from quality import check_results

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target"
# dbt resolves env_var() while parsing: the parse and every load give the same fixed path, so
# the saved parse serves every load (orchestration.dbt_link).
DBT_WAREHOUSE_PATH = str(link_path(DBT_TARGET_DIR))


def _derivation_files() -> list[Path]:
    """The files the warehouse's rows are derived by (tests and profile excluded)."""
    return [DBT_PROJECT_DIR / "dbt_project.yml",
            *sorted(p for folder in ("models", "macros", "seeds")
                    for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())]


def _manifest_is_stale(project: DbtProject) -> bool:
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    watched = [*_derivation_files(), DBT_PROJECT_DIR / "profiles.yml",
               *(p for p in DBT_PROJECT_DIR.glob("tests/**/*") if p.is_file())]
    return any(p.stat().st_mtime > built for p in watched)


@cache
def dbt_project_hash() -> str:
    """Fingerprint of the derivation code (models, macros, seeds, vars, dbt versions). A load
    whose fingerprint differs from the published warehouse's rebuilds its incremental models
    whole: their kept rows were derived by the old code."""
    digest = hashlib.sha256()
    for package in ("dbt-core", "dbt-duckdb"):
        digest.update(f"{package}=={installed_version(package)}\0".encode())
    for path in _derivation_files():
        digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def dbt_project() -> DbtProject:
    """The project, with a manifest parsed once per process when missing or older than the
    models (prepare_if_dev only acts under `dagster dev`; CLI, tests and CI need this too)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if not _manifest_is_stale(project):
        return project
    # Two processes starting at once (two HOMEs' loads, parallel test workers) would both
    # write target/: one parses, the other waits and finds the manifest fresh.
    DBT_TARGET_DIR.mkdir(parents=True, exist_ok=True)
    with open(DBT_TARGET_DIR / "parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _manifest_is_stale(project):
            # Not project.preparer.prepare(): it looks for `dbt` on PATH, which cron and a
            # non-activated venv do not have.
            env = {**os.environ, "ITP_WAREHOUSE_PATH": DBT_WAREHOUSE_PATH, "DO_NOT_TRACK": "1"}
            subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                            "--profiles-dir", str(DBT_PROJECT_DIR)], env=env, check=True)
    return project


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys are <schema>/<model> (marts/endpoint_summary), as analysts name them; the
    group is the dbt folder (staging, intermediate, marts)."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: "DbtProject | None") -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] in ("model", "seed", "snapshot"):
            schema = props.get("config", {}).get("schema") or props.get("schema")
            group = props["fqn"][1] if len(props["fqn"]) > 2 else props["resource_type"]
            return spec.replace_attributes(key=dg.AssetKey([schema, props["name"]]), group_name=group)
        return spec


TRANSLATOR = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def _prepare_build(candidate: Path, load_id: str) -> bool:
    """Record the load's dbt project fingerprint; True when incremental models must be rebuilt
    whole (the published warehouse was built by other derivation code, or by none). The models
    read the load's cutoff from quality.load_log (macro cutoff_date): a load without one has
    nothing to build."""
    current = dbt_project_hash()
    with duckdb.connect(str(candidate)) as conn:
        row = conn.execute("SELECT cutoff_date FROM quality.load_log WHERE load_id = ?", [load_id]).fetchone()
        if row is None or row[0] is None:
            raise dg.Failure(description="no data cutoff for this load: no snapshot was loaded yet",
                             allow_retries=False)
        previous = conn.execute("SELECT dbt_project_hash FROM quality.load_log WHERE status = 'published' "
                                "ORDER BY started_at DESC LIMIT 1").fetchone()
        conn.execute("UPDATE quality.load_log SET dbt_project_hash = ? WHERE load_id = ?", [current, load_id])
    return previous is None or previous[0] != current


@cache
def warehouse_dbt_models() -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=TRANSLATOR,
                name="warehouse_dbt_models", pool="duckdb_writer")
    def _models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings):
        load_id = context.run_id
        candidate = warehouse.warehouse_home.candidate(load_id)
        full_refresh = _prepare_build(candidate, load_id)
        if full_refresh:
            context.log.info("The dbt project differs from the one that built the published warehouse "
                             "(or there is none): incremental models are rebuilt whole (--full-refresh).")
        os.environ["ITP_DUCKDB_MEMORY_LIMIT"] = warehouse.duckdb_memory_limit
        with linked_candidate(DBT_TARGET_DIR, candidate) as link:
            os.environ["ITP_WAREHOUSE_PATH"] = str(link)
            # Unit tests check the models' logic on fixed inputs, not the data: they run in the
            # test suite (tests/dbt), not in every load (dbt's advice; about 4 s a load).
            args = ["build", "--exclude-resource-type", "unit_test", *(["--full-refresh"] if full_refresh else [])]
            invocation = dbt.cli(args, context=context, raise_on_error=False)
            yield from invocation.stream()
            fault_point("dbt")
        run_results = invocation.get_artifact("run_results.json")
        with duckdb.connect(str(candidate)) as conn:
            check_results.record(conn, check_results.dbt_results_from_run_results(
                run_results, load_id, manifest=invocation.get_artifact("manifest.json")))
            conn.execute("CHECKPOINT")
        if not invocation.is_successful():
            failed = [r["unique_id"] for r in run_results.get("results", [])
                      if r.get("status") in ("error", "fail")]
            kept = reject_candidate(warehouse.warehouse_home, load_id)
            raise dg.Failure(description="dbt build failed, load not published: " + ", ".join(failed[:20])
                             + (f" (the rejected candidate is kept at {kept})" if kept else ""),
                             allow_retries=False)

    return _models


def dbt_executable() -> str:
    """The dbt of this interpreter's environment: the venv need not be on PATH (cron, CLI)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


class WarehouseDbtCli(DbtCliResource):
    """DbtCliResource without two start-up costs a load does not need (about 6 s a load, measured).

    - dagster-dbt asks the dbt executable its version (`dbt --version`, a 3.7 s subprocess) to
      tell dbt Core from the Fusion engine. Ours is dbt Core, pinned, installed beside this
      interpreter: its distribution metadata says the same thing at no cost.
    - It also builds an in-process dbt adapter (2.2 s) that serves only column-metadata and
      row-count fetching, which this project does not use.
    Both are private members of dagster-dbt 0.29.27 (pinned exactly); tests/orchestration
    test_dbt_resource.py fails if an upgrade renames them."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - signature of the base class
        return None


def dbt_resource() -> DbtCliResource:
    return WarehouseDbtCli(project_dir=dbt_project(), profiles_dir=str(DBT_PROJECT_DIR),
                           dbt_executable=dbt_executable())
