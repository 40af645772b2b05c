"""Debian's headless Chromium for the tests that look at a page in a real browser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
    "--virtual-time-budget=20000",
)


def chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess:
    """Chromium run headless with ``arguments`` (after the flags: a later
    ``--window-size`` wins) and its own profile folder; stdout and stderr captured."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, (
        "Debian's chromium is needed for this test: make setup installs it"
    )
    return subprocess.run(
        [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
