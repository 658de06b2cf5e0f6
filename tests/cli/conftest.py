"""Command-line tests: no fake-AWS service of a dry run outlives its test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from byohpo.fake._service_client import STATE_FILE, stop_service


@pytest.fixture(autouse=True)
def no_service_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dry runs started here end their fake-AWS services when the test ends (and, should a
    test be killed, within a minute of idling)."""
    monkeypatch.setenv("BYOHPO_FAKE_IDLE_TIMEOUT", "60")
    yield
    for state in tmp_path.rglob(STATE_FILE):
        stop_service(state.parent)
