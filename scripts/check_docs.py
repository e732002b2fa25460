"""Open the built documentation in headless Chromium and check what renders.

    .venv/bin/python scripts/check_docs.py site --screenshots runs/docs-screens

Loads the site's index and the public-API page with Debian's ``chromium``,
checks that each renders its expected headings (from the DOM Chromium
builds, after its scripts ran), and saves a screenshot of each. Exits 1 with
the missing headings named, 2 when Chromium or the site is missing.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: page -> headings it must render
PAGES = {
    "index.html": ["lava-ff", "Headline results", "Where to start"],
    "reference/api/index.html": ["Public API", "load_dataset", "train", "evaluate", "export", "load"],
}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1280,1000"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def headings(dom: str) -> list[str]:
    found = re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", dom, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", h)).replace("¶", "").strip() for h in found]


def check(site: Path, screenshots: Path | None) -> list[str]:
    browser = chromium()
    problems = []
    with tempfile.TemporaryDirectory() as profile:
        for page, expected in PAGES.items():
            url = (site / page).resolve().as_uri()
            run = [browser, *FLAGS, f"--user-data-dir={profile}"]
            dom = subprocess.run([*run, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
            seen = headings(dom)
            missing = [h for h in expected if not any(h == s or s.startswith(h) for s in seen)]
            if missing:
                problems.append(f"{page}: missing headings {missing} (rendered: {seen[:12]})")
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                shot = screenshots / (page.replace("/", "_").replace(".html", ".png"))
                subprocess.run([*run, f"--screenshot={shot.resolve()}", url], capture_output=True, timeout=120)
                if not shot.is_file() or shot.stat().st_size == 0:
                    problems.append(f"{page}: no screenshot written to {shot}")
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("site", type=Path, help="the built site (make docs writes site/)")
    p.add_argument("--screenshots", type=Path, default=None, help="folder for a PNG of each page")
    args = p.parse_args(argv)
    if chromium() is None:
        print("check_docs: error: no chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    if not (args.site / "index.html").is_file():
        print(f"check_docs: error: {args.site}/index.html missing; run make docs first", file=sys.stderr)
        return 2
    problems = check(args.site, args.screenshots)
    for line in problems:
        print(f"check_docs: {line}", file=sys.stderr)
    if not problems:
        print(f"check_docs: {len(PAGES)} pages render their headings", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
