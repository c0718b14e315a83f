"""The file manifest: every file seen in the inbox, keyed by content hash (endpoints.md §8).

Decides what a newly seen file is (new snapshot, resend, late snapshot) and which snapshot of
each site and domain is current. Statuses are fixed at arrival; `is_current` moves.
"""
from __future__ import annotations

MANIFEST_DDL = """
CREATE TABLE IF NOT EXISTS quality.file_manifest (
  file_name VARCHAR NOT NULL,
  file_path VARCHAR NOT NULL,
  sha256 VARCHAR NOT NULL,
  site_id VARCHAR,
  domain VARCHAR,
  export_date DATE,
  status VARCHAR NOT NULL,
  reason VARCHAR,
  rows_read BIGINT,
  rows_accepted BIGINT,
  rows_quarantined BIGINT,
  dropped_columns VARCHAR,
  is_current BOOLEAN NOT NULL DEFAULT false,
  load_id VARCHAR NOT NULL,
  loaded_at TIMESTAMP NOT NULL
)
"""
