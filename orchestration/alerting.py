"""Monitors hear about every load that failed, by the URLs of ITP_ALERT_URLS (apprise). The
failure sensor and the CLI call the same function, so a run started either way alerts."""
from __future__ import annotations

import logging
import os
import re

log = logging.getLogger(__name__)

# Runs started by the CLI alert by themselves; the failure sensor leaves them alone.
CLI_ALERTS_TAG = "itp/alerts_sent_by_cli"


def alert_urls() -> list[str]:
    return [u for u in re.split(r"[\s,]+", os.environ.get("ITP_ALERT_URLS", "")) if u]


def alert_failed_load(load_id: str, reasons: list[str]) -> bool:
    from quality.alerts import Alert, send_alert

    urls = alert_urls()
    if not urls:
        return False
    body = "\n".join(f"- {r}" for r in reasons)
    alert = Alert(title=f"itp-warehouse: load {load_id} FAILED, nothing published",
                  body=f"The load {load_id} did not publish; the previous warehouse stays.\n\n{body}")
    sent = send_alert(alert, urls)
    log.info("failure alert for load %s %s", load_id, "sent" if sent else "NOT sent")
    return sent
