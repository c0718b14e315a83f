"""Where a load reads from and writes to. One resource, filled from the CLI's arguments or,
under `dagster dev` and the schedule, from environment variables."""
from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from orchestration.publishing import WarehouseHome
from sources.bounds import DEFAULT_SECONDS, DEFAULT_XLSX_MAX_EXPANSION, ReadLimits

# DuckDB's GB is 10^9 bytes: with the loader and dbt's own Python beside it, a 100,000-subject
# load's process tree peaks at about 2.8 GB (docs/decisions.md, "The full build's memory
# budget"). dbt_project/profiles.yml has the same default for dbt run by hand.
DEFAULT_DUCKDB_MEMORY_LIMIT = "1.75GB"


def tuning_from_env() -> dict[str, object]:
    """The settings that are not paths, from ITP_* variables (docs/operations.md)."""
    return dict(
        max_failing_share=float(os.environ.get("ITP_MAX_FAILING_SHARE", "0.2")),
        max_deleted_share=float(os.environ.get("ITP_MAX_DELETED_SHARE", "0.2")),
        file_read_seconds=float(os.environ.get("ITP_FILE_READ_SECONDS", str(DEFAULT_SECONDS))),
        xlsx_max_expansion=float(os.environ.get("ITP_XLSX_MAX_EXPANSION", str(DEFAULT_XLSX_MAX_EXPANSION))),
        keep_versions=int(os.environ.get("ITP_KEEP_VERSIONS", "5")),
        duckdb_memory_limit=os.environ.get("ITP_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT),
        native_ingest=os.environ.get("ITP_NATIVE_INGEST", "1") != "0",
    )


class WarehouseSettings(dg.ConfigurableResource):
    """HOME holds the published warehouse, its versions, candidates and the Dagster instance."""

    home: str
    inbox: str
    sites_file: str
    cutoff: str = ""                  # YYYY-MM-DD; empty = the latest export date seen
    # STUDYID of the ADaM datasets (adam.md §1); empty = the site registry's study_id, if any.
    study_id: str = ""
    max_failing_share: float = 0.2    # a file failing more than this share of rows is held
    max_deleted_share: float = 0.2    # a snapshot deleting more of the current one is held
    file_read_seconds: float = DEFAULT_SECONDS          # reading one file may take at most this
    xlsx_max_expansion: float = DEFAULT_XLSX_MAX_EXPANSION   # an xlsx may expand this many times
    keep_versions: int = 5
    # DuckDB's memory for a load (it spills to disk beyond it); dbt's DuckDB gets the same.
    # Its default, 80% of the machine's RAM, would let a registry-scale load take the machine.
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    # Plain CSV files read by DuckDB (ingest.native_intake: the same outcome as the Python
    # reader's); False reads every file the Python way (ITP_NATIVE_INGEST=0, to compare).
    native_ingest: bool = True

    @classmethod
    def from_env(cls) -> "WarehouseSettings":
        home = Path(os.environ.get("ITP_HOME", "demo_home")).resolve()
        return cls(
            home=str(home),
            inbox=os.environ.get("ITP_INBOX", str(home / "inbox")),
            sites_file=os.environ.get("ITP_SITES", str(home / "sites.yaml")),
            cutoff=os.environ.get("ITP_CUTOFF", ""),
            study_id=os.environ.get("ITP_STUDY_ID", ""),
            **tuning_from_env(),
        )

    @property
    def duckdb_config(self) -> dict[str, str]:
        """duckdb.connect(config=...) of every connection that writes a candidate.

        checkpoint_threshold: a load commits once per file (all of a file or none of it), and at
        DuckDB's default (16 MiB of write-ahead log) every few files' commit rewrote the table's
        last row groups; 256 MiB cut the ingest's commit time by 60% at 10,000 subjects."""
        return {"memory_limit": self.duckdb_memory_limit, "checkpoint_threshold": "256MB"}

    @property
    def read_limits(self) -> ReadLimits:
        return ReadLimits(seconds=self.file_read_seconds, xlsx_max_expansion=self.xlsx_max_expansion)

    @property
    def warehouse_home(self) -> WarehouseHome:
        return WarehouseHome(Path(self.home))
