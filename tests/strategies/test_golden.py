"""Seeded suggestions are pinned: a change of behaviour shows up here."""

from __future__ import annotations

import json

import pytest

from byohpo.strategies import STRATEGIES

from .regenerate_golden import GOLDEN, golden_runs


@pytest.fixture(scope="module")
def current() -> dict[str, list[str]]:
    return golden_runs()


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_seeded_suggestions_match_the_pinned_ones(name: str, current: dict[str, list[str]]) -> None:
    pinned = json.loads(GOLDEN.read_text())
    assert name in pinned, "new strategy: run `python -m tests.strategies.regenerate_golden`"
    assert current[name] == pinned[name], (
        "suggestions changed; if intended, run `python -m tests.strategies.regenerate_golden`"
    )
