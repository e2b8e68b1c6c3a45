"""Screenshot of the status page, taken with the real browser: `python -m bench.screenshot [--out FILE]`.

Starts `python -m scaling serve` on its local defaults (Azurite, the AKS emulator, the sample schedules,
one tick at start-up) on a free port, opens `/#key=<key>` in headless Chromium from Debian's packages
(`/usr/bin/chromium`, driven by Playwright; `playwright install` is never run), waits until the page has
loaded its content, and saves a full-page PNG (default docs/status-page.png, the README's picture).
The browser test (tests/page/test_browser.py) starts the app and the browser the same way.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# Headless, and quiet: no GPU, no QUIC, no first-run or background traffic of the browser's own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Settings that would point `serve` away from its local defaults.
_NOT_LOCAL = (
    "SCALING_STORAGE_CONNECTION",
    "AzureWebJobsStorage",
    "SCALING_STORAGE_ACCOUNT_URL",
    "SCALING_ARM_ENDPOINT",
    "SCALING_KUBECONFIG",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
)
_SERVING = re.compile(r"aks-hours is serving on (http://\S+)")


@contextmanager
def served(*, timeout: float = 120.0, emulator_delay: float = 0.2) -> Iterator[tuple[str, str]]:
    """`serve` on its local defaults and a free port; yields (base URL, API key) and stops it afterwards."""
    key = secrets.token_urlsafe(18)
    env = {k: v for k, v in os.environ.items() if k not in _NOT_LOCAL}
    env.update(SCALING_API_KEY=key, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scaling",
            "serve",
            "--port",
            "0",
            "--tick-now",
            "--emulator-delay",
            str(emulator_delay),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    tail: deque[str] = deque(maxlen=40)
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:  # keep reading so the pipe never fills; remember the end for error messages
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line.rstrip())
            match = _SERVING.search(line)
            if match and not found:
                found.append(match.group(1).rstrip("/"))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(timeout) or not found:
            raise RuntimeError("`python -m scaling serve` did not start:\n" + "\n".join(tail))
        yield found[0], key
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def launch(playwright: Any) -> Any:
    """Headless Chromium from /usr/bin/chromium."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_page(browser: Any, url: str, key: str, *, query: str = "", width: int = 1400) -> Any:
    """A new tab on the status page with the key handed over in the URL fragment, once its content is in."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{url}/{query}#key={key}")
    page.wait_for_selector("body[data-loaded='1'] #page", timeout=30_000)
    return page


def demo_override(url: str, key: str) -> None:
    """Keep project-b up for three hours through the API, so the picture shows an override."""
    import httpx

    until = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = httpx.post(
        f"{url}/api/v1/projects/project-b/override",
        headers={"X-API-Key": key},
        timeout=60,
        json={"action": "up", "until": until, "reason": "model demo for the board"},
    )
    if response.status_code != 200:
        raise RuntimeError(f"the demo override failed: {response.status_code} {response.text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "status-page.png", help="PNG file to write")
    parser.add_argument("--width", type=int, default=1400, help="viewport width in pixels")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="no demo override (by default project-b is kept up for 3 hours, to show one)",
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    with served() as (url, key), sync_playwright() as playwright:
        if not args.plain:
            demo_override(url, key)
        browser = launch(playwright)
        try:
            page = open_page(browser, url, key, width=args.width)
            page.wait_for_timeout(300)  # let the layout settle after the content swap
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
        finally:
            browser.close()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
