"""A metric regex that never matches: stop after the first completed jobs, before the budget goes.

A job that completes without printing the objective (as its metric definition's regex
reads the log) gives the strategy nothing. When the first completed jobs of a study
all did so, every later job will too: the study stops, and shows the regex beside the
last lines the job logged, so the mismatch can be seen at a glance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from byohpo.errors import StudyStopped
from byohpo.objectives import Objective, objective_values
from byohpo.study._store import TrialRecord
from byohpo.trial import JobStatus

FIRST_COMPLETED = 2
"""Completed jobs without the objective, and none with it, before the study stops."""

LOG_LINES = 10


def completed_without_objective(
    trials: Iterable[TrialRecord], objectives: Sequence[Objective]
) -> list[TrialRecord] | None:
    """The completed trials when none printed the objective; None once any of them did."""
    done = [t for t in trials if t.has_result and t.status == JobStatus.COMPLETED.value]
    if any(objective_values(objectives, t.metrics) is not None for t in done):
        return None
    return sorted(done, key=lambda t: t.trial_id)


def check_objective_printed(
    trials: Iterable[TrialRecord],
    objectives: Sequence[Objective],
    metric_definitions: Mapping[str, str],
    *,
    max_jobs: int,
    last_log_lines: Callable[[str], list[str]] | None,
    stop_jobs: Callable[[], None],
) -> bool:
    """Raise :class:`StudyStopped` when the first completed jobs never printed the objective.

    Returns whether the question is settled (a job printed it): the loop then stops asking,
    which spares it a pass over every trial at every poll of a long study.
    """
    silent = completed_without_objective(trials, objectives)
    if silent is None:
        return True
    if len(silent) < min(FIRST_COMPLETED, max_jobs):
        return False
    stop_jobs()
    example = silent[-1]
    missing = [o.metric for o in objectives if o.metric not in example.metrics]
    regexes = "\n".join(
        f"  {name}: {metric_definitions.get(name, '(no metric definition)')}" for name in missing
    )
    lines: list[str] = []
    if last_log_lines is not None and example.job_name:
        lines = last_log_lines(example.job_name)
    log = "\n".join(f"  | {line}" for line in lines) or "  (no log lines could be read)"
    raise StudyStopped(
        f"the first {len(silent)} completed jobs never printed the objective, so no job can be "
        f"judged and the study stopped before spending more.\n"
        f"The metric definition's regex:\n{regexes}\n"
        f"The last lines {example.job_name} logged:\n{log}\n"
        "Make the regex match the line the training script prints (its one group captures "
        "the number), then run the study file again as a new study "
        "(`byohpo run STUDY.toml --name NEW`)"
    )
