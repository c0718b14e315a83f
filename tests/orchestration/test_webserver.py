"""The real `dagster-webserver` loads workspace.yaml and serves the asset graph, the job, the
schedule and the sensors data engineers work with."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import BIN, REPO
from tests.quality.test_alerts import free_port

STARTUP_SECONDS = 180  # a bound for a wedged server, not a performance expectation

QUERY = """
{
  assetNodes { assetKey { path } }
  workspaceOrError {
    ... on Workspace { locationEntries { name locationOrLoadError {
      __typename ... on PythonError { message } } } }
  }
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes {
      jobs { name }
      schedules { name cronSchedule executionTimezone scheduleState { status } }
      sensors { name sensorState { status } }
    } }
    ... on PythonError { message }
  }
}
"""


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_for_location(port: int, proc: subprocess.Popen, log) -> dict:
    """The server answers before its code location has loaded: wait for the repository (or
    for the load error, which is the finding)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster-webserver exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        if answers(port):
            data = graphql(port, QUERY)
            for entry in data["workspaceOrError"]["locationEntries"]:
                error = entry["locationOrLoadError"] or {}
                if error.get("__typename") == "PythonError":
                    pytest.fail(f"code location {entry['name']} failed to load: {error['message']}")
            if data["repositoriesOrError"].get("nodes"):
                return data
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not serve the code location within {STARTUP_SECONDS} s:\n"
                f"{log.read_text()[-4000:]}")


@pytest.fixture
def webserver(tmp_path):
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port, log = free_port(), tmp_path / "webserver.log"
    env = {**os.environ, "ITP_HOME": str(tmp_path), "DAGSTER_HOME": str(dagster_home), "DO_NOT_TRACK": "1",
           "DAGSTER_DISABLE_TELEMETRY": "1"}
    for setting in ("ITP_SCHEDULE_CRON", "ITP_SCHEDULE_TIMEZONE"):  # the defaults are under test
        env.pop(setting, None)
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
                                 "-p", str(port)], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield port, proc, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its code-server subprocess
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_webserver_serves_assets_job_schedule_and_sensors(webserver):
    data = wait_for_location(*webserver)
    assets = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
    assert {"raw/labs", "marts/endpoint_summary", "published/warehouse"} <= assets
    [repo] = data["repositoriesOrError"]["nodes"]
    assert "nightly_load" in {job["name"] for job in repo["jobs"]}
    [schedule] = repo["schedules"]
    assert schedule == {"name": "nightly_load_schedule", "cronSchedule": "0 2 * * *",
                        "executionTimezone": "Asia/Shanghai", "scheduleState": {"status": "RUNNING"}}
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert sensors == {"inbox_sensor": "RUNNING", "load_failure_alert": "RUNNING"}
