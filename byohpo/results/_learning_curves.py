"""Learning curves and early stops in a study's results, read from its events.

The study records each running job's new curve points (``"curve"`` events:
``[point, seconds, value]`` triples, only what each read added) and every
stop a rule decided (``"early_stop"``). This module turns those into the
results table's stopping columns and a long-form curve table; like
:mod:`byohpo.results` it reads the log only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

STOPPING_COLUMNS = ("stopped_by", "stopped_at", "stopping_reason")
"""Results-table columns for a job a stopping rule ended: the rule, the point, why."""

CURVE_COLUMNS = ("trial_id", "metric", "point", "seconds", "value")


def early_stops(events: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The stop each rule decided, by trial id (the last one recorded wins)."""
    return {
        int(e["trial_id"]): e
        for e in events
        if e.get("event") == "early_stop" and isinstance(e.get("trial_id"), int)
    }


def stopping_columns(
    events: Sequence[Mapping[str, Any]], trial_ids: Sequence[int]
) -> dict[str, pd.Series[Any]]:
    """The stopping columns for the trials in ``trial_ids``, in that order."""
    stops = early_stops(events)
    text = pd.Series(["x"]).dtype  # the platform's string dtype
    return {
        "stopped_by": pd.Series(
            [stops[t]["rule"] if t in stops else None for t in trial_ids], dtype=object
        ).astype(text),
        "stopped_at": pd.Series(
            [int(stops[t]["point"]) if t in stops else None for t in trial_ids], dtype="Int64"
        ),
        "stopping_reason": pd.Series(
            [stops[t].get("reason") if t in stops else None for t in trial_ids], dtype=object
        ).astype(text),
    }


def curve_table(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per recorded curve point: trial, metric, point (from 1), seconds, value."""
    rows = [
        (int(e["trial_id"]), str(e["metric"]), int(p), float(s), float(v))
        for e in events
        if e.get("event") == "curve"
        for p, s, v in e.get("points", [])
    ]
    frame = pd.DataFrame(rows, columns=list(CURVE_COLUMNS))
    return frame.astype(
        {"trial_id": "int64", "point": "int64", "seconds": "float64", "value": "float64"}
    )
