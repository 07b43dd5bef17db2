"""Playwright's `expect` for the browser tests: a module-level skip without Playwright, a failure in CI."""
from __future__ import annotations

import pytest

from tests.conftest import IN_CI

try:
    from playwright.sync_api import expect
except ImportError as error:  # a dev requirement; without it there is nothing to drive chromium with
    if IN_CI:
        raise
    pytest.skip(f"playwright is not installed: {error}", allow_module_level=True)

__all__ = ["expect"]
