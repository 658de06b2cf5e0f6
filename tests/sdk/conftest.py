"""Studies on the fake in instant mode (real backend and job lifecycle, no script run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tuner.conftest import instant_fake, job, quadratic, space, studies

__all__ = ["instant_fake", "job", "quadratic", "space", "studies"]


@pytest.fixture
def here() -> Path:
    return Path(__file__).parent
