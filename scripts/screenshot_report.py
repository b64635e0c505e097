"""Regenerate docs/report.png, the README's picture: the demo's HTML report in headless Chromium.

Usage: python scripts/screenshot_report.py  (needs `margindash` installed and Debian's chromium)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "report.png"


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("error: chromium not found (apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MARGINDASH_HOME": home}
        subprocess.run([sys.executable, "-m", "margindash_cli", "demo"], env=env, check=True, capture_output=True)
        page = Path(home) / "demo" / "demo-report.html"
        OUT.parent.mkdir(exist_ok=True)
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1280,1500",
                f"--screenshot={OUT}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
