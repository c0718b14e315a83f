"""Headless Chromium for the rendering test: the Debian `chromium` package, installed by the
test itself when missing (tests run as root in CI; apt-get update first only if needed)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise RuntimeError("chromium is missing and apt-get is not available to install it")
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if subprocess.run(install, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=True)
        proc = subprocess.run(install, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"apt-get install chromium failed:\n{proc.stderr[-2000:]}")
    return CHROMIUM


def screenshot(html: Path, png: Path, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ensure_chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}",
         "--window-size=1280,4000", html.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
