"""Fixtures of the strategy contract suite: every registered strategy, by name."""

from __future__ import annotations

import pytest

from byohpo.strategies import STRATEGIES

GENERATIONAL = [name for name, cls in STRATEGIES.items() if not cls.supports_async]
MULTI_OBJECTIVE = ["paes", "nsga2"]


@pytest.fixture(params=list(STRATEGIES))
def name(request: pytest.FixtureRequest) -> str:
    """Each registered strategy's name in turn."""
    return str(request.param)


@pytest.fixture(params=GENERATIONAL)
def generational(request: pytest.FixtureRequest) -> str:
    """Each strategy that proposes whole generations."""
    return str(request.param)
