"""Shared set-up of the browser tests: Debian's Chromium driven by Playwright, never a downloaded browser."""
import contextlib
import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def require_chromium():
    """Skip the calling test module with a reason when Chromium is missing, except in CI, where that is an error;
    return Playwright's sync_playwright."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError("CI must install Debian's chromium (apt-get install chromium) for the browser tests")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
                    allow_module_level=True)
    return pytest.importorskip("playwright.sync_api").sync_playwright


@contextlib.contextmanager
def launch(args=tuple(ARGS)):
    """Start Debian's Chromium with ARGS through Playwright; close it afterwards."""
    sync_playwright = require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=list(args))
        try:
            yield chromium
        finally:
            chromium.close()
