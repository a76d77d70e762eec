import os

import pytest


def pytest_collection_modifyitems(config, items):
    """Refuse to run the API fuzz under pytest-xdist: schemathesis gives every operation's
    test one node id, and xdist then reports a single test and drops the failures (a broken
    endpoint passed that way). `bin/test` runs it in a process of its own."""
    fuzz = [item for item in items if item.nodeid.startswith("tests/security/test_api_fuzz.py")]
    if fuzz and os.environ.get("PYTEST_XDIST_WORKER"):
        raise pytest.UsageError(
            "tests/security/test_api_fuzz.py cannot run under pytest-xdist; "
            "run it with -p no:xdist (bin/test does)"
        )
