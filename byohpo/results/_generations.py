"""Per-generation summaries and lineages (population based training) of a trials table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from byohpo.errors import UserError
from byohpo.objectives import Objective
from byohpo.study._store import TrialRecord


def generations_table(
    table: pd.DataFrame,
    own_job: Sequence[bool],
    objectives: Sequence[Objective],
    objective_columns: Mapping[str, str],
) -> pd.DataFrame:
    """One row per generation (see :meth:`byohpo.results.StudyResult.generations`)."""
    own = pd.Series(list(own_job), dtype=bool)
    several = len(objectives) > 1
    rows: list[dict[str, Any]] = []
    best_so_far = {o.metric: math.nan for o in objectives}
    for generation in sorted(set(table["generation"].tolist())):
        mask = (table["generation"] == generation).to_numpy()
        part = table[mask]
        completed = part[part["status"] == "Completed"]
        row: dict[str, Any] = {
            "generation": generation,
            "trials": len(part),
            "jobs": int(own[mask].sum()),
            "completed": len(completed),
            "failed": int((part["status"] == "Failed").sum()),
        }
        for obj, column in zip(objectives, objective_columns.values(), strict=True):
            values = completed[column].dropna()
            best = math.nan
            if len(values):
                best = float(values.max() if obj.maximize else values.min())
            previous = best_so_far[obj.metric]
            if math.isnan(previous) or (
                not math.isnan(best) and obj.score(best) > obj.score(previous)
            ):
                best_so_far[obj.metric] = best
            suffix = f"[{obj.metric}]" if several else ""
            row["best" + suffix] = best
            row["median" + suffix] = float(values.median()) if len(values) else math.nan
            row["best_so_far" + suffix] = best_so_far[obj.metric]
        row["cost"] = float(part["cost"].sum(min_count=1))
        rows.append(row)
    columns = ["generation", "trials", "jobs", "completed", "failed"]
    for obj in objectives:
        suffix = f"[{obj.metric}]" if several else ""
        columns += ["best" + suffix, "median" + suffix, "best_so_far" + suffix]
    columns.append("cost")
    frame = pd.DataFrame(rows, columns=columns)
    for key in ("generation", "trials", "jobs", "completed", "failed"):
        frame[key] = frame[key].astype("int64")
    return frame


def founders(records: Sequence[TrialRecord]) -> pd.Series[Any]:
    """Each trial's founding member, following ``parent_id`` (records in trial-id order)."""
    founder: dict[int, int] = {}
    for record in records:  # a parent always has a smaller id than its children
        parent = record.parent_id
        founder[record.trial_id] = (
            founder.get(parent, parent) if parent is not None else record.trial_id
        )
    return pd.Series(founder, dtype="int64", name="founder_id").rename_axis("trial_id")


def chain_to(trials: Mapping[int, TrialRecord], trial_id: int) -> list[int]:
    """Trial ids from the founder to ``trial_id``, founder first."""
    chain: list[int] = []
    current: int | None = int(trial_id)
    while current is not None and current not in chain:
        chain.append(current)
        current = trials[current].parent_id
    return chain[::-1]


def lineage(
    table: pd.DataFrame, trials: Mapping[int, TrialRecord], trial_id: int, study_name: str
) -> pd.DataFrame:
    """Rows of ``table`` from the founder to ``trial_id``, founder first."""
    if isinstance(trial_id, bool) or trial_id not in trials:
        raise UserError(
            f"trial_id must be a trial of study {study_name!r}",
            repr(trial_id),
            f"Use one of the table's trial ids (0 to {len(trials) - 1}).",
        )
    indexed = table.set_index("trial_id", drop=False)
    return indexed.loc[chain_to(trials, trial_id)].reset_index(drop=True)
