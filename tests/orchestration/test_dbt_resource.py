"""The dbt resource skips dagster-dbt's `dbt --version` subprocess and in-process adapter: it
must still report the version the executable reports, and the members it replaces must still
exist in dagster-dbt (an upgrade that renames them would silently bring the cost back)."""
from __future__ import annotations

import re
import subprocess

from dagster_dbt import DbtCliResource

from orchestration.assets.dbt import WarehouseDbtCli, dbt_executable, dbt_resource


def test_the_overridden_members_still_exist_in_dagster_dbt():
    for member in ("_cli_version", "_initialize_dbt_core_adapter"):
        assert member in vars(DbtCliResource), f"dagster-dbt no longer has {member}: revisit WarehouseDbtCli"


def test_the_version_is_the_one_the_dbt_executable_reports():
    resource = dbt_resource()
    assert isinstance(resource, WarehouseDbtCli)
    out = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True, check=True).stdout
    reported = re.search(r"installed: (\d+\.\d+\.\d+)", out)
    assert reported, out
    assert str(resource._cli_version) == reported.group(1)
    assert resource._cli_version.major < 2  # dbt Core, not Fusion: dagster-dbt's code path for it


def test_no_adapter_is_built_in_the_load_process():
    assert dbt_resource()._initialize_dbt_core_adapter(["build"]) is None
