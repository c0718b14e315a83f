"""How a finished Dagster run becomes the load's outcome (orchestration.loading._outcome): a run
that built the warehouse but skipped its publish step is a failure, never "unchanged". Real
in-process runs of stand-ins named like the load's assets."""
from __future__ import annotations

import dagster as dg

from orchestration import exits
from orchestration.assets.publish import PUBLISHED_KEY
from orchestration.loading import _outcome

MART, SEED = dg.AssetKey(["marts", "a"]), dg.AssetKey(["reference", "b"])


def _run(yield_seed: bool):
    @dg.multi_asset(outs={"a": dg.AssetOut(key=MART, is_required=False),
                          "b": dg.AssetOut(key=SEED, is_required=False)})
    def built():
        yield dg.Output(None, output_name="a")
        if yield_seed:
            yield dg.Output(None, output_name="b")

    @dg.asset(key=PUBLISHED_KEY, deps=[MART, SEED])
    def published() -> None:
        return None

    job = dg.Definitions(assets=[built, published], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    with dg.instance_for_test() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


def test_a_built_warehouse_whose_publish_step_was_skipped_is_a_failed_load(tmp_path):
    result = _run(yield_seed=False)
    assert result.success   # Dagster itself sees nothing wrong: the publish step was skipped
    outcome = _outcome(result, tmp_path)
    assert (outcome.status, outcome.exit_code) == ("failed", exits.INTERNAL)
    assert "publish step did not run" in outcome.messages[0]


def test_a_published_run_is_published(tmp_path):
    outcome = _outcome(_run(yield_seed=True), tmp_path)
    assert (outcome.status, outcome.exit_code) == ("published", exits.OK)
