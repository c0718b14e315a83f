"""The analyst contract is documented: every mart and every column of it has a description
(what `dbt docs generate` publishes), checked against the tables actually built."""
from __future__ import annotations

import json

MARTS = ["dim_subject", "fct_lab_result", "patient_month", "endpoint_initial_response",
         "endpoint_response_duration", "endpoint_summary", "safety_signal"]


def test_every_mart_and_column_is_described(built):
    manifest = json.loads((built.target / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    undocumented = []
    for mart in MARTS:
        node = models[mart]
        if not node["description"].strip():
            undocumented.append(mart)
        built_columns = [r[0] for r in built.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = ? ORDER BY ordinal_position", [mart])]
        assert built_columns, f"marts.{mart} was not built"
        undocumented += [f"{mart}.{c}" for c in built_columns
                         if not node["columns"].get(c, {}).get("description", "").strip()]
    assert undocumented == []


def test_marts_hold_the_columns_of_the_contract(built):
    """endpoints.md §7: names are stable, columns may be added but never dropped."""
    contract = {
        "dim_subject": "site_id subject_id sex age_at_day1 day1_date baseline_plt exposure_days current_status withdrawal_reason",
        "fct_lab_result": "site_id subject_id test_code sample_date study_day treatment_month value unit original_value "
                          "original_unit ref_low ref_high range_flag ctcae_grade source_file source_sha256 source_row",
        "patient_month": "site_id subject_id treatment_month plt_n plt_min plt_max plt_last best_response any_bleeding "
                         "max_who_grade on_itp_conmed n_ae max_ae_grade worst_lab_grade",
        "endpoint_initial_response": "site_id subject_id baseline_plt best_response response_day confirmed",
        "endpoint_response_duration": "site_id subject_id start_date loss_date duration_days censored",
        "endpoint_summary": "endpoint timepoint n denominator pct",
        "safety_signal": "site_id subject_id signal signal_date value detail source_file source_row",
    }
    for mart, columns in contract.items():
        built_columns = {r[0] for r in built.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = ?",
            [mart])}
        assert set(columns.split()) <= built_columns, (mart, set(columns.split()) - built_columns)
