"""The JSON form of a strategy's state: header, random generator, told configurations.

A snapshot is plain JSON data (dicts, lists, strings, numbers, booleans and
``null``). Floats survive ``json.dumps``/``json.loads`` exactly, so a strategy
restored from the text of its snapshot, in any process, continues with the
very same random draws and decisions.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from byohpo.errors import StrategyError

SNAPSHOT_FORMAT = 1
"""Version of the JSON written by :meth:`Strategy.snapshot`; bumped on incompatible change."""


def header(strategy: str) -> dict[str, Any]:
    """The fields every snapshot starts with: format version and strategy name."""
    return {"format": SNAPSHOT_FORMAT, "strategy": strategy}


def check_header(state: object, strategy: str) -> Mapping[str, Any]:
    """Raise unless ``state`` is a snapshot of the ``strategy`` strategy in this format."""
    if not isinstance(state, Mapping):
        raise StrategyError(
            "a strategy snapshot is a JSON object",
            type(state).__name__,
            "Pass the dict that snapshot() returned (json.loads its text first).",
        )
    if state.get("format") != SNAPSHOT_FORMAT:
        raise StrategyError(
            f"this version of byohpo reads strategy snapshots of format {SNAPSHOT_FORMAT}",
            f"format {state.get('format')!r}",
            "Resume the study with the byohpo version that started it.",
        )
    if state.get("strategy") != strategy:
        raise StrategyError(
            f"a snapshot can only be restored into the strategy that wrote it ({strategy!r} here)",
            f"a snapshot of {state.get('strategy')!r}",
            f"Restore it into the {state.get('strategy')!r} strategy.",
        )
    return state


def check_json(state: Mapping[str, Any], what: str) -> None:
    """Raise unless ``state`` can be written as strict JSON (no NaN, no objects)."""
    try:
        json.dumps(state, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StrategyError(
            f"{what} must be JSON-serializable (numbers, strings, lists, dicts)",
            str(exc),
            "Keep only plain data in the state.",
        ) from exc


def random_state(rng: random.Random) -> list[Any]:
    """The state of a :class:`random.Random` as JSON data (Gaussian cache included)."""
    version, internal, gauss_next = rng.getstate()
    return [version, list(internal), gauss_next]


def set_random_state(rng: random.Random, data: object) -> None:
    """Return ``rng`` to a state written by :func:`random_state`."""
    try:
        if not isinstance(data, list | tuple) or len(data) != 3:
            raise TypeError(f"a list of 3 items is expected, not {data!r:.40}")
        rng.setstate((data[0], tuple(data[1]), data[2]))
    except (TypeError, ValueError) as exc:
        raise StrategyError(
            "a snapshot's random state must be the list snapshot() wrote",
            str(exc),
            "Pass the snapshot unchanged.",
        ) from exc


def check_same(name: str, recorded: object, current: object, fix: str) -> None:
    """Raise unless the value recorded in a snapshot equals the current one."""
    if recorded != current:
        raise StrategyError(
            f"a strategy must be restored with the {name} it was snapshotted with",
            f"{current!r} now, {recorded!r} in the snapshot",
            fix,
        )
