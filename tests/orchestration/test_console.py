"""The CLI's load console on Dagster's own event records: stage lines timed from the events, a
progress bar only on a terminal, failing warn checks as one warning line. (The demo's real
output is checked in tests/e2e/test_demo_cohort.py; this covers the terminal it cannot have.)"""
from __future__ import annotations

import io
import re
import uuid

import dagster as dg

from orchestration.console import LoadConsole
from orchestration.progress import (checks_warned, ingest_progress, parse_checks_warned, parse_stage_done,
                                    reporting_ingest, stage_done)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@dg.asset
def site_exports(context) -> None:
    report = ingest_progress()
    for done in (0, 400, 1024):
        if report:
            report(done, 1024)
    context.log.info(stage_done("ingest", "3 new files (3 loaded)"))
    context.log.info(stage_done("checks", "lab expectations passed"))


@dg.asset_check(asset=site_exports)
def row_checks() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(deps=[site_exports])
def warehouse_dbt_models(context) -> None:
    # As the dbt step says the data tests that warned: they are not Dagster asset checks.
    context.log.warning(checks_warned(["marts.fct_lab_result not_null_fct_lab_result_unit"]))
    raise dg.Failure("dbt build failed")


def _run(console: LoadConsole) -> None:
    """A real in-process run of stand-ins named like the load's steps, the console listening."""
    job = dg.Definitions(assets=[site_exports, warehouse_dbt_models], asset_checks=[row_checks],
                         jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    run_id = str(uuid.uuid4())
    with dg.instance_for_test() as instance, reporting_ingest(console.ingest_progress):
        instance.add_event_listener(run_id, console.on_event)
        job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
    assert not console.broken


def test_stage_lines_are_timed_from_the_events_and_a_failed_step_says_so():
    out = io.StringIO()
    console = LoadConsole(out)
    _run(console)
    lines = out.getvalue().splitlines()
    assert [re.sub(r"\(\d+\.\d s\)$", "(T)", line) for line in lines] == [
        "  ingest    3 new files (3 loaded)  (T)",
        "  checks    lab expectations passed  (T)",
        "  dbt       FAILED  (T)",
    ]
    [warning] = console.warnings()
    assert warning.startswith("warning: 2 checks did not pass (warn): ")
    named = warning.split(": ", 2)[2].split(", ")
    assert sorted(named) == ["marts.fct_lab_result not_null_fct_lab_result_unit", "site_exports row_checks"]


def test_the_progress_bar_is_drawn_on_a_terminal_only_and_cleared_before_the_stage_line():
    terminal = Terminal()
    _run(LoadConsole(terminal))
    drawn = terminal.getvalue()
    assert "\r" in drawn and "/1.00k [" in drawn and drawn.index("/1.00k [") < drawn.index("  ingest    3")
    plain = io.StringIO()
    _run(LoadConsole(plain))
    assert "\r" not in plain.getvalue() and "1.00k" not in plain.getvalue()


def test_stage_done_lines_round_trip_and_other_messages_are_not_stages():
    assert parse_stage_done(stage_done("publish", "version v1; 2 open site queries")) == (
        "publish", "version v1; 2 open site queries")
    assert parse_stage_done("The dbt project differs: rebuilt whole") is None
    assert parse_stage_done("file x done: nothing") is None


def test_checks_warned_lines_round_trip_and_other_messages_name_no_check():
    names = ["marts.patient_month not_null_patient_month_x", "adam.adlb expression_is_true_adlb_y"]
    assert parse_checks_warned(checks_warned(names)) == names
    assert parse_checks_warned(stage_done("dbt", "39 models built")) == []
    assert parse_checks_warned("2 checks warned: a | b") == []
