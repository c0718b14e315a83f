"""The statisticians' deliverable (../shared/spec/adam.md): the published warehouse's `adam`
schema as SAS Transport v5 files, define.xml (Define-XML 2.1), define.html and
conformance.csv. Every value comes from the published warehouse; every label and definition
from the dbt models' yml (metadata.py)."""
from orchestration.adam.export import ExportResult, export_adam

__all__ = ["ExportResult", "export_adam"]
