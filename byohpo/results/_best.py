"""The best trials of a trials table: the completed ones, the best row, the Pareto set.

Each takes the table :meth:`byohpo.results.StudyResult.table` built and the
study's objectives with their columns; when no trial completed with a value
for every objective, :func:`candidates` raises
:class:`~byohpo.errors.NoCompletedTrialError` with why (no objective, nothing
planned yet, jobs that completed without reporting the metric, the most
common failure reason).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from byohpo.errors import NoCompletedTrialError
from byohpo.objectives import Objective
from byohpo.results._pareto import pareto_mask, scores
from byohpo.study._store import TrialRecord
from byohpo.trial import TrialStatus


def completed(
    table: pd.DataFrame, objectives: Sequence[Objective], columns: Mapping[str, str]
) -> pd.DataFrame:
    """Rows of trials that completed with a value for every objective (no duplicates)."""
    if not objectives:
        return table.iloc[0:0]
    mask = (table["status"] == "Completed") & table["duplicate_of"].isna()
    for column in columns.values():
        mask &= table[column].notna()
    return table[mask]


def candidates(
    table: pd.DataFrame,
    objectives: Sequence[Objective],
    columns: Mapping[str, str],
    *,
    name: str,
    records: Sequence[TrialRecord],
    counts: Mapping[str, int],
) -> pd.DataFrame:
    """:func:`completed`, or :class:`NoCompletedTrialError` saying why it is empty.

    ``records`` are the study's trials and ``counts`` their number per status.
    """
    rows = completed(table, objectives, columns)
    if rows.empty:
        raise NoCompletedTrialError(_why_no_result(name, objectives, records, counts))
    return rows


def _why_no_result(
    name: str,
    objectives: Sequence[Objective],
    records: Sequence[TrialRecord],
    counts: Mapping[str, int],
) -> str:
    if not objectives:
        return f"study {name!r} records no objective, so no trial can be the best"
    metrics = ", ".join(repr(o.metric) for o in objectives)
    text = f"no trial of study {name!r} completed with a value for {metrics}"
    if not counts:
        return text + ": no trial was planned yet"
    text += f" ({len(records)} trials: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    text += ")."
    done = counts.get("Completed", 0)
    if done:
        text += (
            f" {done} completed without reporting it: check that the job prints it and"
            " that its metric definition's regex matches the log."
        )
    reasons = Counter(
        r.failure_reason for r in records if r.status is TrialStatus.FAILED and r.failure_reason
    )
    if reasons:
        reason, n = reasons.most_common(1)[0]
        text += f" The most common failure reason ({n} of {counts.get('Failed', 0)}): {reason}"
    return text


def best_row(
    rows: pd.DataFrame, objectives: Sequence[Objective], columns: Mapping[str, str]
) -> pd.Series[Any]:
    """The best of ``rows`` for the single objective, named by its trial id (ties: earliest)."""
    position = int(np.argmax(scores(rows, objectives, columns)[:, 0]))
    row = rows.iloc[position]
    return row.rename(int(row["trial_id"]))


def pareto_front(
    rows: pd.DataFrame, objectives: Sequence[Objective], columns: Mapping[str, str]
) -> pd.DataFrame:
    """The rows no other row beats in every objective."""
    return rows[pareto_mask(scores(rows, objectives, columns))]
