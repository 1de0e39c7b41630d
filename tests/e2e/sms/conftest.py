"""Fixtures for text giving end to end (see sms_harness.py)."""

from __future__ import annotations

import pytest
from sms_harness import TextGiving, connect


@pytest.fixture
def texts(platform, client, seed_appeal) -> TextGiving:
    return TextGiving(platform, client, connect(platform, client))
