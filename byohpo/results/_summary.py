"""A study's results in a few numbers (for JSON) and a few lines (for ``repr``)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd

from byohpo.errors import NoCompletedTrialError

if TYPE_CHECKING:
    from byohpo.results._study_result import StudyResult


def summary(result: StudyResult) -> dict[str, Any]:
    """See :meth:`byohpo.results.StudyResult.summary`."""
    table = result.table()
    start = table["start_time"].min()
    end = table["end_time"].max()
    best: dict[str, Any] | None = None
    try:
        if len(result.objectives) == 1:
            row = result.best()
            assert isinstance(row, pd.Series)
            best = {
                "trial_id": int(row["trial_id"]),
                "job_name": row["job_name"],
                "objective": {result.objectives[0].metric: float(row["objective"])},
                "config": result.best_config(),
            }
        elif result.objectives:
            best = {"pareto_trial_ids": [int(t) for t in result.pareto_front()["trial_id"]]}
    except NoCompletedTrialError:
        best = None
    return {
        "name": result.name,
        "strategy": result.study.get("strategy"),
        "mode": result.study.get("mode"),
        "objectives": [
            {"metric": o.metric, "direction": o.direction.value} for o in result.objectives
        ],
        "finished": result.is_finished,
        "stop_reason": result.stop_reason,
        "trials": result.trials,
        "jobs_launched": result.jobs_launched,
        "status_counts": result.status_counts,
        "total_cost": result.total_cost,
        "trials_without_cost": int(table["cost"].isna().sum()),
        "elapsed_seconds": (
            float((end - start).total_seconds()) if pd.notna(start) and pd.notna(end) else None
        ),
        "best": best,
    }


def headline(result: StudyResult) -> list[str]:
    """The lines of the short text summary shown by ``repr``."""
    study = result.study
    how = ", ".join(str(study[k]) for k in ("strategy", "mode") if study.get(k))
    state = f"finished: {result.stop_reason}" if result.is_finished else "not finished"
    lines = [f"StudyResult {result.name!r}" + (f" ({how})" if how else "") + f", {state}"]
    counts = ", ".join(f"{n} {s}" for s, n in result.status_counts.items()) or "none yet"
    lines.append(f"trials: {result.trials} ({counts}); jobs launched: {result.jobs_launched}")
    lines.append(f"cost: ${result.total_cost:,.2f}{result.cost_caveat()}")
    for obj in result.objectives:
        lines.append(f"objective: {obj.metric} ({obj.direction.value})")
    try:
        if len(result.objectives) == 1:
            row = result.best()
            assert isinstance(row, pd.Series)
            lines.append(
                f"best: {float(row['objective']):.6g} at trial {int(row['trial_id'])}"
                f" (job {row['job_name']})"
            )
        elif result.objectives:
            lines.append(f"Pareto front: {len(result.pareto_front())} trials")
    except NoCompletedTrialError:
        lines.append("best: no trial completed with a value yet")
    return lines


def headline_html(result: StudyResult) -> str:
    """The lines of :func:`headline` as HTML, for notebooks."""
    lines = headline(result)
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines[1:])
    return f"<div><strong>{html.escape(lines[0])}</strong><ul>{items}</ul></div>"


def cost_caveat(table: pd.DataFrame) -> str:
    """Empty, or a parenthesized note of the trials whose cost is unknown."""
    unknown = int(table["cost"].isna().sum())
    if not unknown:
        return ""
    noun = "trial" if unknown == 1 else "trials"
    return f" (without {unknown} {noun} still running or of unknown price)"
