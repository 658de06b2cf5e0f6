"""A study's results as pandas tables: every trial, the best one, the Pareto set, generations.

:class:`StudyResult` reads a replayed event log (:class:`byohpo.study.store.StudyLog`)
and never writes anything: results can be read while the study still runs,
from another process, or long after it finished. Every table is rebuilt from
the log alone, so the same log always gives the same tables.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from byohpo.errors import ByohpoError, SearchSpaceError, StoreError, UserError
from byohpo.objectives import Direction, Objective, objective_values
from byohpo.pricing import job_cost
from byohpo.results.learning_curves import STOPPING_COLUMNS, curve_table, stopping_columns
from byohpo.space import Categorical, Continuous, Integer, SearchSpace
from byohpo.study.store import StudyLog, TrialRecord, replay

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["NoCompletedTrialError", "StudyResult", "pareto_mask"]

LEADING_COLUMNS = ("trial_id", "job_name", "generation", "parent_id", "status")
"""The first columns of :meth:`StudyResult.table`, in order."""

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
"""The last columns of :meth:`StudyResult.table`, in order."""

STATUS_ORDER = ("Completed", "Failed", "Stopped", "Stopping", "InProgress", "Planned")
"""The order in which status counts are listed (any other status comes after)."""

_OWN_IDS = ("parent_id", "duplicate_of", "retry_of")


class NoCompletedTrialError(ByohpoError, LookupError):
    """The study has no completed trial with a value for every objective, so no best trial."""


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


def _parse_objectives(study: Mapping[str, Any]) -> tuple[Objective, ...]:
    raw = study.get("objectives")
    if isinstance(raw, Mapping):
        return tuple(Objective(str(m), Direction.parse(d, str(m))) for m, d in raw.items())
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        return tuple(
            Objective(str(o["metric"]), Direction.parse(o.get("direction", "maximize")))
            for o in raw
        )
    if study.get("objective"):
        metric = str(study["objective"])
        return (Objective(metric, Direction.parse(study.get("direction", "maximize"), metric)),)
    return ()


def _typed_column(values: Sequence[Any], kind: type | None = None) -> pd.Series[Any]:
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


def _status_counts(statuses: Iterable[str]) -> dict[str, int]:
    counts = Counter(statuses)
    ordered = {s: counts[s] for s in STATUS_ORDER if counts[s]}
    ordered.update({s: n for s, n in sorted(counts.items()) if s not in ordered})
    return ordered


class StudyResult:
    """The results of one study, read from its event log.

    ``table()`` is the study as a DataFrame, one row per trial; ``best()``,
    ``best_config()`` and ``pareto_front()`` pick from its completed trials;
    ``generations()`` summarizes it per generation. Plots and an HTML report
    come from :mod:`byohpo.results.plots` and :mod:`byohpo.results.report` (the ``plots`` extra).

    A result is a snapshot: it does not change when the log grows. Load it
    again (:meth:`load`) to see a running study's progress.
    """

    def __init__(self, log: StudyLog) -> None:
        self.log = log
        self.objectives: tuple[Objective, ...] = _parse_objectives(log.study)
        self._trials = [log.trials[k] for k in sorted(log.trials)]
        self._space = self._parse_space()
        self._table: pd.DataFrame | None = None

    # -- construction ------------------------------------------------------------
    @classmethod
    def load(cls, location: str | os.PathLike[str]) -> StudyResult:
        """Read the study whose event log is at ``location`` (a directory or ``s3://`` prefix)."""
        from byohpo.study.store import Store

        store = Store(location)
        if not store.exists():
            raise StoreError(f"no study at {store.location}: its event log is missing or empty")
        return cls(store.load())

    @classmethod
    def from_events(cls, events: Iterable[Mapping[str, Any]]) -> StudyResult:
        """The result of a study given its events, in the order they were written."""
        return cls(replay(events))

    def _parse_space(self) -> SearchSpace | None:
        raw = self.log.study.get("space")
        if not raw:
            return None
        # The log's JSON objects come back with sorted keys; ``parameter_names``, when
        # recorded, keeps the order in which the user defined the space.
        order = [str(n) for n in self.log.study.get("parameter_names") or [] if n in raw]
        ordered = {name: raw[name] for name in [*order, *(n for n in raw if n not in order)]}
        try:
            return SearchSpace.from_json(ordered)
        except SearchSpaceError:
            return None

    # -- what the study is -----------------------------------------------------------
    @property
    def name(self) -> str:
        """The study's name."""
        return self.log.name

    @property
    def study(self) -> dict[str, Any]:
        """The study's definition as recorded when it started."""
        return dict(self.log.study)

    @property
    def space(self) -> SearchSpace | None:
        """The search space, or None when the log does not record one."""
        return self._space

    @property
    def parameter_names(self) -> list[str]:
        """Every hyperparameter (static ones too), in the space's order."""
        names = list(self._space) if self._space is not None else []
        for record in self._trials:
            names.extend(n for n in record.config if n not in names)
        return names

    @property
    def tuned_parameter_names(self) -> list[str]:
        """The hyperparameters the strategy chooses (not the static ones)."""
        if self._space is not None:
            return self._space.tunable_names
        return [
            n
            for n in self.parameter_names
            if len({json.dumps(r.config.get(n)) for r in self._trials}) > 1
        ]

    @property
    def metric_names(self) -> list[str]:
        """The job's metric definitions in order, then any other metric a job reported."""
        names = [str(m) for m in self.log.study.get("metric_names", [])]
        for obj in self.objectives:
            if obj.metric not in names:
                names.append(obj.metric)
        for record in self._trials:
            names.extend(m for m in record.metrics if m not in names)
        return names

    @property
    def objective_columns(self) -> dict[str, str]:
        """Each objective's metric -> its column in :meth:`table`.

        One objective: ``"objective"``. Several: ``"objective[<metric>]"``.
        """
        if len(self.objectives) == 1:
            return {self.objectives[0].metric: "objective"}
        return {o.metric: f"objective[{o.metric}]" for o in self.objectives}

    @property
    def parameter_columns(self) -> dict[str, str]:
        """Each hyperparameter -> its column: its name, or ``param[<name>]`` if that is taken."""
        taken = set(LEADING_COLUMNS) | set(TRAILING_COLUMNS) | set(self.objective_columns.values())
        return {n: (f"param[{n}]" if n in taken else n) for n in self.parameter_names}

    @property
    def metric_columns(self) -> dict[str, str]:
        """Each metric -> its column: its own name, or ``metric[<name>]`` if that is taken."""
        taken = (
            set(LEADING_COLUMNS)
            | set(TRAILING_COLUMNS)
            | set(self.objective_columns.values())
            | set(self.parameter_columns.values())
        )
        return {m: (f"metric[{m}]" if m in taken else m) for m in self.metric_names}

    # -- what happened ------------------------------------------------------------------
    @property
    def is_finished(self) -> bool:
        """Whether the study recorded its end (it may be resumed later all the same)."""
        return self.log.finished is not None

    @property
    def stop_reason(self) -> str | None:
        """Why the study ended, or None while it runs (or after a crash)."""
        if self.log.finished is None:
            return None
        return str(self.log.finished.get("reason", "")) or None

    @property
    def status_counts(self) -> dict[str, int]:
        """Number of trials per status, Completed first."""
        return _status_counts(self._effective(r)[0] for r in self._trials)

    @property
    def trials(self) -> int:
        """Number of trials planned, duplicates and retries included."""
        return len(self._trials)

    @property
    def jobs_launched(self) -> int:
        """Number of trials that ran a training job of their own (not answered as duplicates)."""
        return sum(self._has_own_job(r) for r in self._trials)

    @property
    def total_cost(self) -> float:
        """Dollars billed for the jobs whose price and billable time are known."""
        return float(self.table()["cost"].sum(skipna=True))

    def cost_caveat(self) -> str:
        """Empty, or a parenthesized note of the trials :attr:`total_cost` leaves out."""
        unknown = int(self.table()["cost"].isna().sum())
        if not unknown:
            return ""
        noun = "trial" if unknown == 1 else "trials"
        return f" (without {unknown} {noun} still running or of unknown price)"

    # -- the table ----------------------------------------------------------------------
    def _has_own_job(self, record: TrialRecord) -> bool:
        if record.duplicate_of is not None:
            return False
        return record.submitted or record.has_result or record.status != "Planned"

    def _effective(self, record: TrialRecord) -> tuple[str, dict[str, float]]:
        """Status and metrics of a trial; a duplicate without its own result takes its source's."""
        source = (
            self.log.trials.get(record.duplicate_of) if record.duplicate_of is not None else None
        )
        if source is not None and not record.has_result:
            return source.status, dict(source.metrics)
        return record.status, dict(record.metrics)

    def _objective_values(self, status: str, metrics: Mapping[str, float]) -> list[float] | None:
        # The tuner tells the strategy a job's metrics only when it completed with every objective.
        if status != "Completed" or not self.objectives:
            return None
        return objective_values(self.objectives, metrics)

    def _cost(self, record: TrialRecord) -> float:
        if not self._has_own_job(record):
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

    def _build_table(self) -> pd.DataFrame:
        trials = self._trials
        effective = [self._effective(r) for r in trials]
        columns: dict[str, Any] = {
            "trial_id": pd.Series([r.trial_id for r in trials], dtype="int64"),
            "job_name": pd.Series([r.job_name for r in trials], dtype=object),
            "generation": pd.Series([r.generation for r in trials], dtype="int64"),
            "parent_id": pd.Series([r.parent_id for r in trials], dtype="Int64"),
            "status": pd.Series([s for s, _ in effective], dtype=object),
        }
        seen = [self._objective_values(s, m) for s, m in effective]
        for i, column in enumerate(self.objective_columns.values()):
            columns[column] = pd.Series(
                [math.nan if v is None else v[i] for v in seen], dtype="float64"
            )
        for name, column in self.parameter_columns.items():
            param = self._space.get(name) if self._space is not None else None
            kind = type(param) if isinstance(param, Continuous | Integer | Categorical) else None
            columns[column] = _typed_column([r.config.get(name) for r in trials], kind)
        for metric, column in self.metric_columns.items():
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
                if not self._has_own_job(r)
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

    def table(self) -> pd.DataFrame:
        """One row per trial, in trial-id order (a fresh copy: change it freely).

        Columns, in this order: ``trial_id``, ``job_name``, ``generation``,
        ``parent_id``, ``status``; the objective (``objective``, or
        ``objective[<metric>]`` per objective when there are several: the value
        the strategy saw, NaN when the job failed or did not report it); one
        column per hyperparameter with its Python type; one column per metric
        definition (float); ``failure_reason``, ``start_time``, ``end_time``
        (UTC timestamps), ``billable_seconds``, ``cost`` (dollars; 0 for a
        trial without a job of its own, NaN while unknown), ``duplicate_of``
        and ``retry_of``; for a job a stopping rule ended, ``stopped_by`` (the
        rule), ``stopped_at`` (the curve point, an epoch when the script prints
        one line per epoch) and ``stopping_reason``. Ids that may be missing
        use pandas' ``Int64``.
        """
        if self._table is None:
            self._table = self._build_table()
        return self._table.copy()

    # -- the best trials -----------------------------------------------------------------
    def completed(self) -> pd.DataFrame:
        """Rows of :meth:`table` for the trials that completed with a value for every objective.

        Duplicates are left out (the trial they repeat is there). May be empty.
        """
        table = self.table()
        if not self.objectives:
            return table.iloc[0:0]
        mask = (table["status"] == "Completed") & table["duplicate_of"].isna()
        for column in self.objective_columns.values():
            mask &= table[column].notna()
        return table[mask]

    def _candidates(self) -> pd.DataFrame:
        candidates = self.completed()
        if candidates.empty:
            raise NoCompletedTrialError(self._why_no_result())
        return candidates

    def _why_no_result(self) -> str:
        if not self.objectives:
            return f"study {self.name!r} records no objective, so no trial can be the best"
        metrics = ", ".join(repr(o.metric) for o in self.objectives)
        counts = self.status_counts
        text = f"no trial of study {self.name!r} completed with a value for {metrics}"
        if not counts:
            return text + ": no trial was planned yet"
        text += f" ({self.trials} trials: " + ", ".join(f"{n} {s}" for s, n in counts.items())
        text += ")."
        completed = counts.get("Completed", 0)
        if completed:
            text += (
                f" {completed} completed without reporting it: check that the job prints it and"
                " that its metric definition's regex matches the log."
            )
        reasons = Counter(
            r.failure_reason for r in self._trials if r.status == "Failed" and r.failure_reason
        )
        if reasons:
            reason, n = reasons.most_common(1)[0]
            text += f" The most common failure reason ({n} of {counts.get('Failed', 0)}): {reason}"
        return text

    def _scores(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Objective values on a bigger-is-better scale, one column per objective."""
        columns = [
            frame[c].to_numpy(dtype=float) * (1.0 if o.maximize else -1.0)
            for o, c in zip(self.objectives, self.objective_columns.values(), strict=True)
        ]
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def best(self) -> pd.Series[Any] | pd.DataFrame:
        """The best completed trial: a row of :meth:`table` (a Series) for one objective.

        Ties go to the earliest trial. With several objectives there is no
        single best: the Pareto set (a DataFrame, as :meth:`pareto_front`).
        Raises :class:`NoCompletedTrialError` when no trial completed with a value.
        """
        if len(self.objectives) != 1:
            return self.pareto_front()
        return self._best_row()

    def _best_row(self) -> pd.Series[Any]:
        candidates = self._candidates()
        position = int(np.argmax(self._scores(candidates)[:, 0]))
        row = candidates.iloc[position]
        return row.rename(int(row["trial_id"]))

    def best_config(self) -> dict[str, Any]:
        """The best trial's hyperparameters (static ones too), with their Python types.

        Only for a single objective: with several, pick a configuration from
        :meth:`pareto_front`.
        """
        if len(self.objectives) != 1:
            metrics = [o.metric for o in self.objectives]
            raise ByohpoError(
                f"study {self.name!r} has {len(metrics)} objectives {metrics}, so no single"
                " best configuration; choose one from result.pareto_front()"
            )
        trial_id = int(self._best_row()["trial_id"])
        return dict(self.log.trials[trial_id].config)

    def pareto_front(self) -> pd.DataFrame:
        """The completed trials no other completed trial beats in every objective.

        Rows of :meth:`table` in trial-id order. With one objective this is
        the best trial and any trial tied with it.
        """
        candidates = self._candidates()
        return candidates[pareto_mask(self._scores(candidates))]

    # -- per generation ----------------------------------------------------------------
    def generations(self) -> pd.DataFrame:
        """One row per generation: trials, jobs, completed, failed, best, median, best_so_far, cost.

        ``best`` and ``median`` are over the generation's completed trials,
        ``best_so_far`` over every generation up to this one, each respecting
        the objective's direction (NaN where nothing completed). With several
        objectives these three come once per objective as ``best[<metric>]``,
        ``median[<metric>]`` and ``best_so_far[<metric>]``.
        """
        table = self.table()
        own_job = pd.Series([self._has_own_job(r) for r in self._trials], dtype=bool)
        generations = sorted(set(table["generation"].tolist()))
        rows: list[dict[str, Any]] = []
        best_so_far = {o.metric: math.nan for o in self.objectives}
        for generation in generations:
            mask = (table["generation"] == generation).to_numpy()
            part = table[mask]
            completed = part[part["status"] == "Completed"]
            row: dict[str, Any] = {
                "generation": generation,
                "trials": len(part),
                "jobs": int(own_job[mask].sum()),
                "completed": len(completed),
                "failed": int((part["status"] == "Failed").sum()),
            }
            several = len(self.objectives) > 1
            for obj, column in zip(self.objectives, self.objective_columns.values(), strict=True):
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
        for obj in self.objectives:
            suffix = f"[{obj.metric}]" if len(self.objectives) > 1 else ""
            columns += ["best" + suffix, "median" + suffix, "best_so_far" + suffix]
        columns.append("cost")
        frame = pd.DataFrame(rows, columns=columns)
        for key in ("generation", "trials", "jobs", "completed", "failed"):
            frame[key] = frame[key].astype("int64")
        return frame

    # -- lineages (population based training) ------------------------------------------
    def founders(self) -> pd.Series[Any]:
        """Each trial's founding member: the first trial of its lineage, following ``parent_id``.

        A Series indexed by trial id; a trial without a parent is its own founder.
        """
        founder: dict[int, int] = {}
        for record in self._trials:  # a parent always has a smaller id than its children
            parent = record.parent_id
            founder[record.trial_id] = (
                founder.get(parent, parent) if parent is not None else record.trial_id
            )
        return pd.Series(founder, dtype="int64", name="founder_id").rename_axis("trial_id")

    def lineage(self, trial_id: int | None = None) -> pd.DataFrame:
        """The chain of trials from the founder to ``trial_id`` (default: the best trial).

        Rows of :meth:`table`, founder first, one per step: the hyperparameters
        of each row are the schedule the last trial's model was trained with
        (each trial continued its parent's checkpoint). Raises
        :class:`NoCompletedTrialError` when no ``trial_id`` is given and no
        trial completed.
        """
        if trial_id is None:
            trial_id = int(self._best_row()["trial_id"])
        if isinstance(trial_id, bool) or trial_id not in self.log.trials:
            raise UserError(
                f"trial_id must be a trial of study {self.name!r}",
                repr(trial_id),
                f"Use one of the table's trial ids (0 to {self.trials - 1}).",
            )
        chain: list[int] = []
        current: int | None = int(trial_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.log.trials[current].parent_id
        table = self.table().set_index("trial_id", drop=False)
        return table.loc[chain[::-1]].reset_index(drop=True)

    # -- summaries --------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The study in a few numbers, ready for JSON: counts, cost, stop reason, best values."""
        table = self.table()
        start = table["start_time"].min()
        end = table["end_time"].max()
        best: dict[str, Any] | None = None
        try:
            if len(self.objectives) == 1:
                row = self._best_row()
                best = {
                    "trial_id": int(row["trial_id"]),
                    "job_name": row["job_name"],
                    "objective": {self.objectives[0].metric: float(row["objective"])},
                    "config": self.best_config(),
                }
            elif self.objectives:
                best = {"pareto_trial_ids": [int(t) for t in self.pareto_front()["trial_id"]]}
        except NoCompletedTrialError:
            best = None
        return {
            "name": self.name,
            "strategy": self.log.study.get("strategy"),
            "mode": self.log.study.get("mode"),
            "objectives": [
                {"metric": o.metric, "direction": o.direction.value} for o in self.objectives
            ],
            "finished": self.is_finished,
            "stop_reason": self.stop_reason,
            "trials": self.trials,
            "jobs_launched": self.jobs_launched,
            "status_counts": self.status_counts,
            "total_cost": self.total_cost,
            "trials_without_cost": int(table["cost"].isna().sum()),
            "elapsed_seconds": (
                float((end - start).total_seconds()) if pd.notna(start) and pd.notna(end) else None
            ),
            "best": best,
        }

    def _headline(self) -> list[str]:
        """The lines of the short text summary shown by ``repr``."""
        study = self.log.study
        how = ", ".join(str(study[k]) for k in ("strategy", "mode") if study.get(k))
        state = f"finished: {self.stop_reason}" if self.is_finished else "not finished"
        lines = [f"StudyResult {self.name!r}" + (f" ({how})" if how else "") + f", {state}"]
        counts = ", ".join(f"{n} {s}" for s, n in self.status_counts.items()) or "none yet"
        lines.append(f"trials: {self.trials} ({counts}); jobs launched: {self.jobs_launched}")
        lines.append(f"cost: ${self.total_cost:,.2f}{self.cost_caveat()}")
        for obj in self.objectives:
            lines.append(f"objective: {obj.metric} ({obj.direction.value})")
        try:
            if len(self.objectives) == 1:
                row = self._best_row()
                lines.append(
                    f"best: {float(row['objective']):.6g} at trial {int(row['trial_id'])}"
                    f" (job {row['job_name']})"
                )
            elif self.objectives:
                lines.append(f"Pareto front: {len(self.pareto_front())} trials")
        except NoCompletedTrialError:
            lines.append("best: no trial completed with a value yet")
        return lines

    def __repr__(self) -> str:
        lines = self._headline()
        return "\n  ".join(lines)

    def _repr_html_(self) -> str:
        import html

        lines = self._headline()
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines[1:])
        return f"<div><strong>{html.escape(lines[0])}</strong><ul>{items}</ul></div>"

    # -- conveniences -----------------------------------------------------------------------
    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`table` as CSV (no index column)."""
        self.table().to_csv(path, index=False)

    def to_json(self) -> str:
        """:meth:`table` as a JSON list of records, times in ISO 8601."""
        return str(self.table().to_json(orient="records", date_format="iso"))

    def learning_curves(self) -> pd.DataFrame:
        """Every intermediate value early stopping read: one row per trial, metric and point
        (``trial_id``, ``metric``, ``point`` from 1, ``seconds`` since the job's first log
        line, ``value``). Empty for a study without early stopping."""
        return curve_table(self.log.stopping_events())

    def plot_progress(self, **options: Any) -> Figure:
        """See :func:`byohpo.results.plots.plot_progress`."""
        from byohpo.results.plots import plot_progress

        return plot_progress(self, **options)

    def plot_parameters(self, **options: Any) -> Figure:
        """See :func:`byohpo.results.plots.plot_parameters`."""
        from byohpo.results.plots import plot_parameters

        return plot_parameters(self, **options)

    def plot_pareto(self, **options: Any) -> Figure:
        """See :func:`byohpo.results.plots.plot_pareto`."""
        from byohpo.results.plots import plot_pareto

        return plot_pareto(self, **options)

    def plot_learning_curves(self, **options: Any) -> Figure:
        """See :func:`byohpo.results.plots.plot_learning_curves`."""
        from byohpo.results.plots import plot_learning_curves

        return plot_learning_curves(self, **options)

    def plot_lineage(self, **options: Any) -> Figure:
        """See :func:`byohpo.results.plots.plot_lineage`."""
        from byohpo.results.plots import plot_lineage

        return plot_lineage(self, **options)

    def write_report(self, path: str | os.PathLike[str]) -> Path:
        """See :func:`byohpo.results.report.write_report`."""
        from byohpo.results.report import write_report

        return write_report(self, path)
