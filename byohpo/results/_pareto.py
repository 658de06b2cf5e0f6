"""Which trials no other beats in every objective, and objective values made bigger-is-better."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from byohpo.objectives import Objective


def pareto_mask(scores: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which rows of ``scores`` (bigger is better in every column) no other row dominates.

    A row dominates another when it is at least as good in every column and
    better in one. Equal rows do not dominate each other: both are kept.
    """
    points = np.asarray(scores, dtype=float)
    keep = np.ones(len(points), dtype=bool)
    for i, point in enumerate(points):
        at_least = np.all(points >= point, axis=1)
        better = np.any(points > point, axis=1)
        keep[i] = not np.any(at_least & better)
    return keep


def scores(
    frame: pd.DataFrame, objectives: Sequence[Objective], columns: Mapping[str, str]
) -> np.ndarray[Any, Any]:
    """Objective values of ``frame``'s rows on a bigger-is-better scale, one column each."""
    values = [
        frame[c].to_numpy(dtype=float) * (1.0 if o.maximize else -1.0)
        for o, c in zip(objectives, columns.values(), strict=True)
    ]
    return np.column_stack(values) if values else np.empty((len(frame), 0))
