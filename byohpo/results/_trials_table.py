"""The trials table: one row per trial of a replayed study log, with typed columns.

Everything :meth:`byohpo.results.StudyResult.table` shows is computed here
from the log alone: each trial's effective status and metrics (a duplicate
takes its source's), its objective values, its hyperparameters with their
Python types, its billed seconds and cost, and what a stopping rule did.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from byohpo._pricing import job_cost
from byohpo.errors import SearchSpaceError
from byohpo.objectives import Direction, Objective, objective_values
from byohpo.results._learning_curves import STOPPING_COLUMNS, stopping_columns
from byohpo.space import Categorical, Continuous, Integer, SearchSpace
from byohpo.study._store import StudyLog, TrialRecord
from byohpo.trial import TrialStatus

LEADING_COLUMNS = ("trial_id", "job_name", "generation", "parent_id", "status")
"""The first columns of the trials table, in order."""

TRAILING_COLUMNS = (
    "failure_reason",
    "start_time",
    "end_time",
    "billable_seconds",
    "cost",
    "duplicate_of",
    "retry_of",
    *STOPPING_COLUMNS,
)
"""The last columns of the trials table, in order."""

STATUS_ORDER = (
    TrialStatus.COMPLETED,
    TrialStatus.FAILED,
    TrialStatus.STOPPED,
    TrialStatus.STOPPING,
    TrialStatus.IN_PROGRESS,
    TrialStatus.PLANNED,
)
"""The order in which status counts are listed (any other status comes after)."""


def parse_objectives(study: Mapping[str, Any]) -> tuple[Objective, ...]:
    """The objectives a study recorded when it started (none for an old or partial log)."""
    raw = study.get("objectives")
    if isinstance(raw, Mapping):
        return tuple(Objective(str(m), Direction.parse(d, str(m))) for m, d in raw.items())
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        return tuple(
            Objective(str(o["metric"]), Direction.parse(o.get("direction", "maximize")))
            for o in raw
        )
    return ()


def typed_column(values: Sequence[Any], kind: type | None = None) -> pd.Series[Any]:
    """Values of one hyperparameter with their Python types (numeric stays numeric)."""
    present = [v for v in values if v is not None]
    missing = len(present) < len(values)
    if kind is Continuous:
        return pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="boolean" if missing else "bool")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present) and (
        present or kind is Integer
    ):
        return pd.Series(values, dtype="Int64" if missing else "int64")
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")
    if len({type(v) for v in present}) > 1:
        return pd.Series(values, dtype=object)
    return pd.Series(values) if values else pd.Series([], dtype=object)


def status_counts(statuses: Iterable[str]) -> dict[str, int]:
    """Number of trials per status, in :data:`STATUS_ORDER`, then any other alphabetically."""
    counts = Counter(statuses)
    ordered: dict[str, int] = {str(s): counts[s] for s in STATUS_ORDER if counts[s]}
    ordered.update({s: n for s, n in sorted(counts.items()) if s not in ordered})
    return ordered


def has_own_job(record: TrialRecord) -> bool:
    """Whether a trial ran (or will run) a training job of its own, not answered as a duplicate."""
    if record.duplicate_of is not None:
        return False
    return record.submitted or record.has_result or record.status is not TrialStatus.PLANNED


class TrialsTable:
    """The columns of one study's trials table, and the table itself.

    Built once per :class:`~byohpo.results.StudyResult`; column names are
    fixed by the log (objectives, space, metric definitions).
    """

    def __init__(self, log: StudyLog, space: SearchSpace | None) -> None:
        self.log = log
        self.space = space
        self.objectives = parse_objectives(log.study)
        self.records = [log.trials[k] for k in sorted(log.trials)]

    # -- names ---------------------------------------------------------------------------
    def parameter_names(self) -> list[str]:
        names = list(self.space) if self.space is not None else []
        for record in self.records:
            names.extend(n for n in record.config if n not in names)
        return names

    def tuned_parameter_names(self) -> list[str]:
        if self.space is not None:
            return self.space.tunable_names
        return [
            n
            for n in self.parameter_names()
            if len({json.dumps(r.config.get(n)) for r in self.records}) > 1
        ]

    def metric_names(self) -> list[str]:
        names = [str(m) for m in self.log.study.get("metric_names", [])]
        for obj in self.objectives:
            if obj.metric not in names:
                names.append(obj.metric)
        for record in self.records:
            names.extend(m for m in record.metrics if m not in names)
        return names

    def objective_columns(self) -> dict[str, str]:
        if len(self.objectives) == 1:
            return {self.objectives[0].metric: "objective"}
        return {o.metric: f"objective[{o.metric}]" for o in self.objectives}

    def parameter_columns(self) -> dict[str, str]:
        taken = (
            set(LEADING_COLUMNS) | set(TRAILING_COLUMNS) | set(self.objective_columns().values())
        )
        return {n: (f"param[{n}]" if n in taken else n) for n in self.parameter_names()}

    def metric_columns(self) -> dict[str, str]:
        taken = (
            set(LEADING_COLUMNS)
            | set(TRAILING_COLUMNS)
            | set(self.objective_columns().values())
            | set(self.parameter_columns().values())
        )
        return {m: (f"metric[{m}]" if m in taken else m) for m in self.metric_names()}

    # -- per trial -----------------------------------------------------------------------
    def effective(self, record: TrialRecord) -> tuple[str, dict[str, float]]:
        """Status and metrics of a trial; a duplicate without its own result takes its source's."""
        source = (
            self.log.trials.get(record.duplicate_of) if record.duplicate_of is not None else None
        )
        if source is not None and not record.has_result:
            return source.status, dict(source.metrics)
        return record.status, dict(record.metrics)

    def _objective_values(self, status: str, metrics: Mapping[str, float]) -> list[float] | None:
        # The tuner tells the strategy a job's metrics only when it completed with every objective.
        if status != TrialStatus.COMPLETED or not self.objectives:
            return None
        return objective_values(self.objectives, metrics)

    def _cost(self, record: TrialRecord) -> float:
        if not has_own_job(record):
            return 0.0
        study = self.log.study
        instance_type: str | None
        if record.instance_type:
            instance_type, count = record.instance_type, record.instance_count
        else:
            instance_type = study.get("instance_type")
            count = int(study.get("instance_count") or 1)
        cost = job_cost(
            record.billable_seconds,
            instance_type,
            count,
            region=study.get("region"),
            prices=study.get("prices") or None,
        )
        return math.nan if cost is None else cost

    # -- the table -----------------------------------------------------------------------
    def build(self) -> pd.DataFrame:
        """The table, in trial-id order (see :meth:`byohpo.results.StudyResult.table`)."""
        trials = self.records
        effective = [self.effective(r) for r in trials]
        columns: dict[str, Any] = {
            "trial_id": pd.Series([r.trial_id for r in trials], dtype="int64"),
            "job_name": pd.Series([r.job_name for r in trials], dtype=object),
            "generation": pd.Series([r.generation for r in trials], dtype="int64"),
            "parent_id": pd.Series([r.parent_id for r in trials], dtype="Int64"),
            "status": pd.Series([s for s, _ in effective], dtype=object),
        }
        seen = [self._objective_values(s, m) for s, m in effective]
        for i, column in enumerate(self.objective_columns().values()):
            columns[column] = pd.Series(
                [math.nan if v is None else v[i] for v in seen], dtype="float64"
            )
        for name, column in self.parameter_columns().items():
            param = self.space.get(name) if self.space is not None else None
            kind = type(param) if isinstance(param, Continuous | Integer | Categorical) else None
            columns[column] = typed_column([r.config.get(name) for r in trials], kind)
        for metric, column in self.metric_columns().items():
            values = [m.get(metric) for _, m in effective]
            columns[column] = pd.Series(
                [math.nan if v is None else float(v) for v in values], dtype="float64"
            )
        columns["failure_reason"] = pd.Series([r.failure_reason for r in trials], dtype=object)
        for key in ("start_time", "end_time"):
            raw = pd.Series([getattr(r, key) for r in trials], dtype=object)
            parsed = pd.to_datetime(raw, utc=True, format="ISO8601")
            columns[key] = parsed.astype("datetime64[ns, UTC]")
        columns["billable_seconds"] = pd.Series(
            [
                0.0
                if not has_own_job(r)
                else (math.nan if r.billable_seconds is None else float(r.billable_seconds))
                for r in trials
            ],
            dtype="float64",
        )
        columns["cost"] = pd.Series([self._cost(r) for r in trials], dtype="float64")
        columns["duplicate_of"] = pd.Series([r.duplicate_of for r in trials], dtype="Int64")
        columns["retry_of"] = pd.Series([r.retry_of for r in trials], dtype="Int64")
        for key in ("job_name", "status", "failure_reason"):
            # The platform's string dtype (``str`` in pandas 3, ``object`` before).
            columns[key] = columns[key].astype(pd.Series(["x"]).dtype)
        columns.update(stopping_columns(self.log.stopping_events(), [r.trial_id for r in trials]))
        return pd.DataFrame(columns)


def recorded_space(study: Mapping[str, Any]) -> SearchSpace | None:
    """The search space a study recorded, in the user's order (None: none, or unreadable)."""
    raw = study.get("space")
    if not raw:
        return None
    # The log's JSON objects come back with sorted keys; ``parameter_names``, when
    # recorded, keeps the order in which the user defined the space.
    order = [str(n) for n in study.get("parameter_names") or [] if n in raw]
    ordered = {name: raw[name] for name in [*order, *(n for n in raw if n not in order)]}
    try:
        return SearchSpace.from_json(ordered)
    except SearchSpaceError:
        return None
