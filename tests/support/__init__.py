"""Helpers shared by tests and bench/ (fixture sites, emulator resources)."""

import pytest


@pytest.fixture(autouse=False)
def fresh_console():
    """console caches rich Consoles bound to the sys.stdout of their first use; pytest swaps it per test."""
    from tars_tasks import console

    console._consoles.clear()
    yield
    console._consoles.clear()
