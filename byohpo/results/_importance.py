"""Hyperparameter importance: how much of the objective's spread each hyperparameter explains.

The method is a first-order variance decomposition, the main-effect part of fANOVA,
estimated from the completed trials without a surrogate model: each hyperparameter's
values are grouped (categories as they are; numbers into up to five quantile bins),
and its importance is the share of the objective's variance between the groups'
means, corrected for the share that groups of pure noise would show (epsilon
squared, ``(SS_between - (k - 1) MS_within) / SS_total``, floored at 0).

It needs only numpy, runs in microseconds, and is honest about small studies: with
few trials the correction pulls every value towards 0. It sees each hyperparameter
alone, so interactions (fANOVA's higher-order terms) are not counted, and a
hyperparameter that only matters jointly with another scores low.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_BINS = 5
MIN_TRIALS = 6
"""Fewer completed trials than this give no estimate."""


@dataclass(frozen=True)
class Importance:
    """One hyperparameter's share of the objective's variance (0 to 1)."""

    parameter: str
    share: float
    groups: int


def _groups(values: pd.Series[Any], trials: int) -> np.ndarray[Any, np.dtype[np.int_]]:
    """Group labels: categories as they are, numbers in up to MAX_BINS quantile bins."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and numeric.nunique() > MAX_BINS:
        bins = min(MAX_BINS, max(2, trials // 3))
        codes = pd.qcut(numeric.rank(method="first"), bins, labels=False)
        return np.asarray(codes, dtype=int)
    return np.asarray(pd.factorize(values.astype(str))[0], dtype=int)


def importance(
    table: pd.DataFrame, parameters: Sequence[str] | Mapping[str, str], objective: str
) -> list[Importance]:
    """Each parameter's share of the variance of ``objective`` in ``table``, largest first.

    ``parameters`` are column names (or a mapping of names to columns). Only rows
    with a finite objective count; an empty list when there are too few of them
    or the objective does not vary.
    """
    columns = dict(parameters) if isinstance(parameters, Mapping) else {p: p for p in parameters}
    y_all = pd.to_numeric(table[objective], errors="coerce") if objective in table else None
    if y_all is None:
        return []
    rows = table[np.isfinite(y_all.to_numpy(dtype=float))]
    y = pd.to_numeric(rows[objective]).to_numpy(dtype=float)
    n = len(y)
    if n < MIN_TRIALS:
        return []
    total = float(((y - y.mean()) ** 2).sum())
    if total <= 0:
        return []
    found = []
    for name, column in columns.items():
        if column not in rows or rows[column].isna().any():
            continue
        groups = _groups(rows[column], n)
        k = int(groups.max()) + 1
        if k < 2 or k >= n:
            continue
        between = sum(
            float((groups == g).sum()) * (float(y[groups == g].mean()) - float(y.mean())) ** 2
            for g in range(k)
        )
        within_ms = (total - between) / (n - k)
        share = max(0.0, (between - (k - 1) * within_ms) / total)
        found.append(Importance(name, min(1.0, share), k))
    return sorted(found, key=lambda i: -i.share)
