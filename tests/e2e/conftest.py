"""What the browser tests share: one headless Chromium per test module."""

import pytest

from tests.e2e.serving import chromium


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched
