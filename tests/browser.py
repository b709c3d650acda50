"""A real browser for the dashboard's tests: Debian's headless Chromium, driven by Playwright.

Chromium comes from Debian's package (installed with apt-get when missing, as root); Playwright
only drives it and never downloads a browser of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.controlplane import binaries

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]  # as root, and small /dev/shm in containers
SCREENSHOTS = Path(__file__).resolve().parent.parent / ".screenshots"  # gitignored


def ensure_chromium() -> Path:
    """The Chromium binary; Debian's `chromium` installed with apt-get when missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            "the dashboard's browser tests need Chromium at /usr/bin/chromium "
            "(Debian: `sudo apt-get install chromium`)"
        )
    binaries.report("installing chromium with apt-get (once) ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
    ):
        subprocess.run(argv, check=True, env=env, capture_output=True, timeout=1800)
    return CHROMIUM
