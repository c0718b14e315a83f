"""The dbt project as Dagster assets: staging -> intermediate -> marts, built into the load's
candidate warehouse.

dbt's data tests run in the same `dbt build`; an error-severity one that fails fails the build,
so the load is not published. Their results go to quality.check_result (what `status`, the
quality report and the monitors read), and the ones that warned to the step's log
(orchestration.progress.checks_warned). They are not Dagster asset checks: each would cost
Dagster two stored events a load (planned, evaluated), about 10 ms each in SQLite, which made
~270 tests 7-9 s of CPU of every load (docs/decisions.md, "dbt tests are not Dagster asset
checks").
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from functools import cache, cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any, Iterator, Mapping

import dagster as dg
import duckdb
import platformdirs
from packaging.version import Version
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt_link import link_path, linked_candidate
from orchestration.faults import fault_point
from orchestration.progress import checks_warned, stage_done
from orchestration.publishing import reject_candidate
from orchestration.resources import WarehouseSettings
from quality import check_results
from sources.study_parameters import DBT_PROJECT_DIR

STATE_DIR_ENV = "ITP_DBT_STATE_DIR"


def dbt_state_dir() -> Path:
    """Where dbt writes, never its project folder (an installed package may be read-only, and
    one installation serves several HOMEs): `target/` holds the parsed manifest, the saved
    parse and the fixed link to the load's candidate (orchestration.dbt_link); `logs/` dbt's
    own log of that parse. Each load's dbt artifacts (run results, compiled SQL, dbt's debug
    log) go under its HOME instead: HOME/logs/<load_id>.dbt.

    ITP_DBT_STATE_DIR when set; else the user's cache folder, one sub-folder per project
    folder, so two checkouts or installations never share a link or a parse."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit).resolve()
    key = hashlib.sha256(str(DBT_PROJECT_DIR).encode()).hexdigest()[:12]
    return Path(platformdirs.user_cache_dir("itp-warehouse", appauthor=False)) / f"dbt-{key}"


DBT_STATE_DIR = dbt_state_dir()
DBT_TARGET_DIR = DBT_STATE_DIR / "target"
# dbt resolves env_var() while parsing: the parse and every load give the same fixed path, so
# the saved parse serves every load (orchestration.dbt_link).
DBT_WAREHOUSE_PATH = str(link_path(DBT_TARGET_DIR))
PARSE_FINGERPRINT = "parse_fingerprint"


def _derivation_files() -> list[Path]:
    """The files the warehouse's rows are derived by (tests and profile excluded)."""
    return [DBT_PROJECT_DIR / "dbt_project.yml",
            *sorted(p for folder in ("models", "macros", "seeds")
                    for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())]


def _fingerprint(paths: list[Path]) -> str:
    """sha256 of the dbt versions and the files' names and bytes."""
    digest = hashlib.sha256()
    for package in ("dbt-core", "dbt-duckdb"):
        digest.update(f"{package}=={installed_version(package)}\0".encode())
    for path in paths:
        digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def dbt_project_hash() -> str:
    """Fingerprint of the derivation code (models, macros, seeds, vars, dbt versions). A load
    whose fingerprint differs from the published warehouse's rebuilds its incremental models
    whole: their kept rows were derived by the old code."""
    return _fingerprint(_derivation_files())


def _parse_inputs_fingerprint() -> str:
    """What the saved manifest was parsed from: the derivation files, the profile and the tests.
    By content, not modification time: a reinstalled package may carry older times."""
    return _fingerprint([*_derivation_files(), DBT_PROJECT_DIR / "profiles.yml",
                         *sorted(p for p in DBT_PROJECT_DIR.glob("tests/**/*") if p.is_file())])


@cache
def dbt_project() -> DbtProject:
    """The project, with a manifest parsed once per process when missing or parsed from other
    files (prepare_if_dev only acts under `dagster dev`; CLI, tests and CI need this too)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=DBT_TARGET_DIR)
    wanted = _parse_inputs_fingerprint()
    recorded = DBT_TARGET_DIR / PARSE_FINGERPRINT

    def stale() -> bool:
        return (not Path(project.manifest_path).exists() or not recorded.exists()
                or recorded.read_text() != wanted)

    if not stale():
        return project
    # Two processes starting at once (two HOMEs' loads, parallel test workers) would both
    # write target/: one parses, the other waits and finds the manifest fresh.
    DBT_TARGET_DIR.mkdir(parents=True, exist_ok=True)
    with open(DBT_TARGET_DIR / "parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stale():
            # Not project.preparer.prepare(): it looks for `dbt` on PATH, which cron and a
            # non-activated venv do not have.
            env = {**os.environ, "ITP_WAREHOUSE_PATH": DBT_WAREHOUSE_PATH, "DO_NOT_TRACK": "1"}
            parse = subprocess.run(
                [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                 "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(DBT_TARGET_DIR),
                 "--log-path", str(DBT_STATE_DIR / "logs")],
                env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
            if parse.returncode != 0:
                raise RuntimeError(f"dbt could not parse {DBT_PROJECT_DIR}:\n{(parse.stdout + parse.stderr)[-3000:]}")
            recorded.write_text(wanted)
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


TRANSLATOR = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=False))


# A load built by the same derivation code as the published warehouse (dbt_project_hash, which
# covers the seeds and their column types) finds the seeds' tables in its candidate exactly as
# they were loaded and tested then: it neither reloads nor re-tests them (46 nodes, about 2 s a
# load). `cautious` drops only the tests whose every parent is a seed; a model's test that
# refers to a seed (relationships, in_reference, controlled_term) still runs.
SEEDS_UNCHANGED = ["--exclude", "resource_type:seed", "--indirect-selection", "cautious"]


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
        artifacts = warehouse.warehouse_home.dbt_artifacts(load_id)
        # dagster-dbt copies the saved parse into the invocation's folder from DBT_TARGET_PATH
        # (else from the project's own target/, which dbt never writes).
        with linked_candidate(DBT_TARGET_DIR, candidate) as link, _environment(
                ITP_WAREHOUSE_PATH=str(link), ITP_DUCKDB_MEMORY_LIMIT=warehouse.duckdb_memory_limit,
                DBT_TARGET_PATH=str(DBT_TARGET_DIR)):
            # Unit tests check the models' logic on fixed inputs, not the data: they run in the
            # test suite (tests/dbt), not in every load (dbt's advice; about 4 s a load).
            args = ["build", "--exclude-resource-type", "unit_test",
                    *(["--full-refresh"] if full_refresh else SEEDS_UNCHANGED)]
            invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=artifacts)
            # The models' materializations; not the tests' observations (the module says why).
            # Collected, and yielded once the link is released: a generator suspended at a
            # yield inside this block (Dagster stops consuming it after an error of its own)
            # would hold the link's lock for as long as the process lives.
            built = [event for event in invocation.stream() if not isinstance(event, dg.AssetObservation)]
            fault_point("dbt")
        if not full_refresh:
            yield from _unchanged_seeds(context, invocation.manifest, project)   # before what uses them
        yield from built
        prune_dbt_artifacts(warehouse.warehouse_home, keep=max(warehouse.keep_versions, 1))
        run_results = invocation.get_artifact("run_results.json")
        if invocation.is_successful():
            context.log.info(stage_done("dbt", _build_detail(run_results)))
        results = check_results.dbt_results_from_run_results(
            run_results, load_id, manifest=invocation.get_artifact("manifest.json"))
        with duckdb.connect(str(candidate)) as conn:
            check_results.record(conn, results)
            conn.execute("CHECKPOINT")
        warned = [f"{r.target} {r.check_name}" for r in results if not r.passed and r.severity == "warn"]
        if warned:
            context.log.warning(checks_warned(warned))
        if not invocation.is_successful():
            failed = [r["unique_id"] for r in run_results.get("results", [])
                      if r.get("status") in ("error", "fail")]
            kept = reject_candidate(warehouse.warehouse_home, load_id)
            raise dg.Failure(description="dbt build failed, load not published: " + ", ".join(failed[:20])
                             + (f" (the rejected candidate is kept at {kept})" if kept else ""),
                             allow_retries=False)

    return _models


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """dbt's subprocess takes its settings from this process's environment: set them for the
    build only. Left behind, they leaked into whatever ran next in the process (a later load's
    default memory limit; another dbt, which wrote its results into this state folder)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _unchanged_seeds(context: dg.AssetExecutionContext, manifest: Mapping[str, Any],
                     project: DbtProject) -> Iterator[dg.Output]:
    """The seeds a SEEDS_UNCHANGED build did not load are in the candidate as published, loaded
    and tested by the load that built them: their outputs say so, else every step depending on
    them (the publish step) would be skipped."""
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "seed":
            continue
        key = TRANSLATOR.get_asset_spec(manifest, unique_id, project).key
        if key in context.selected_asset_keys:
            yield dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_key(key),
                            metadata={"unchanged": "not reloaded: the published warehouse's table, from the same "
                                                   "seed file (same dbt project fingerprint)"})


def _build_detail(run_results: dict[str, Any]) -> str:
    """"38 models, 6 seeds built; 228 data tests: 226 passed, 2 warned"."""
    built: dict[str, int] = {}
    tests: dict[str, int] = {}
    for r in run_results.get("results", []):
        kind = r.get("unique_id", "").split(".", 1)[0]
        if kind == "test":
            tests[r.get("status")] = tests.get(r.get("status"), 0) + 1
        elif r.get("status") == "success":
            built[kind] = built.get(kind, 0) + 1
    made = ", ".join(f"{n} {kind}s" for kind, n in sorted(built.items())) or "nothing"
    verdicts = ", ".join(f"{tests[s]} {word}" for s, word in (("pass", "passed"), ("warn", "warned"),
                                                               ("fail", "failed"), ("error", "errored")) if tests.get(s))
    return f"{made} built; {sum(tests.values())} data tests" + (f": {verdicts}" if verdicts else "")


def prune_dbt_artifacts(home, keep: int) -> None:
    """Keep the dbt artifacts of the last `keep` loads (a few MB each: compiled SQL, a copy of
    the manifest); the text logs HOME/logs/<load_id>.log stay."""
    folders = sorted(home.logs_dir.glob("*.dbt"), key=lambda p: p.stat().st_mtime)
    for old in folders[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


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
