"""Fixtures of the strategy contract suite: every registered strategy, by name."""

from __future__ import annotations

import importlib.util

import pytest

from byohpo.strategies import STRATEGIES

GENERATIONAL = [name for name, cls in STRATEGIES.items() if not cls.supports_async]
MULTI_OBJECTIVE = ["paes", "nsga2"]
ENGINES = [
    "optuna:tpe",
    "nevergrad:NGOpt",
    # Optuna's Gaussian process needs PyTorch, a large install: checked where it is present
    *(["optuna:gp"] if importlib.util.find_spec("torch") else []),
]
"""Other libraries' algorithms, by the names a study uses (the test extra installs both)."""
ALL = [*STRATEGIES, *ENGINES]


@pytest.fixture(params=ALL)
def name(request: pytest.FixtureRequest) -> str:
    """Each registered strategy's name in turn."""
    return str(request.param)


@pytest.fixture(params=GENERATIONAL)
def generational(request: pytest.FixtureRequest) -> str:
    """Each strategy that proposes whole generations."""
    return str(request.param)
