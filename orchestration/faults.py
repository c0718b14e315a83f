"""Named points of a load where the fault tests kill the process (SIGKILL) to prove that the
published warehouse survives. Inert unless ITP_FAULT_PAUSE_AT names the point: then the load
writes ITP_FAULT_MARKER (a file path) and sleeps, waiting to be killed."""
from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = ("ingest", "checks", "dbt", "publish")


def fault_point(name: str) -> None:
    if os.environ.get("ITP_FAULT_PAUSE_AT") != name:
        return
    marker = os.environ.get("ITP_FAULT_MARKER")
    if marker:
        Path(marker).write_text(name)
    time.sleep(float(os.environ.get("ITP_FAULT_PAUSE_SECONDS", "600")))
