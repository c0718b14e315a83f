"""Real renderers for the rendering tests: headless Chromium (the HTML) and poppler's pdftoppm
(the PDF's pages as images), Debian packages installed by the tests themselves when missing
(tests run as root in CI; apt-get update first only if needed). A Chinese font (WenQuanYi Zen
Hei) comes with them, so Chinese text renders as glyphs on the page images, not as nothing;
poppler-data maps the PDF's Chinese CID font."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
PDFTOPPM = Path("/usr/bin/pdftoppm")
CJK_FONT_PACKAGE = "fonts-wqy-zenhei"


def ensure_debian_packages(probe: Path, *packages: str) -> Path:
    """`probe` is a file the packages install; when it is missing, apt-get installs them."""
    if probe.exists():
        return probe
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"{probe} is missing and apt-get is not available to install {packages}")
    # Wait for dpkg's lock rather than fail when another test run is installing at the same time.
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", *packages]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if subprocess.run(install, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=True)
        proc = subprocess.run(install, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"apt-get install {' '.join(packages)} failed:\n{proc.stderr[-2000:]}")
    return probe


def ensure_chromium() -> Path:
    ensure_debian_packages(Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), CJK_FONT_PACKAGE)
    return ensure_debian_packages(CHROMIUM, "chromium")


def ensure_pdftoppm() -> Path:
    ensure_debian_packages(Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), CJK_FONT_PACKAGE)
    ensure_debian_packages(Path("/usr/share/poppler/cMap"), "poppler-data")
    return ensure_debian_packages(PDFTOPPM, "poppler-utils")


def screenshot(html: Path, png: Path, profile: Path, *, height: int = 4000) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ensure_chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}",
         f"--window-size=1280,{height}", html.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)


def pdf_page_images(pdf: Path, out_dir: Path, *, dpi: int = 50) -> list[Path]:
    """Every page of the PDF as a PNG (pdftoppm), in page order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(ensure_pdftoppm()), "-r", str(dpi), "-png", str(pdf), str(out_dir / "page")],
                          capture_output=True, text=True, timeout=300)
    pages = sorted(out_dir.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert proc.returncode == 0 and pages, f"pdftoppm failed: {proc.stderr[-2000:]}"
    return pages
