"""Debian's Chromium as the tests drive it through Playwright: headless, and nothing that reaches for the
network on its own (Playwright's own browser download cannot run here)."""

import shutil

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


def chromium() -> str:
    """The path of Debian's Chromium; the test fails, saying how to get it, when it is missing."""
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium not found: install it (`make test` does it with apt-get)")
    return found
