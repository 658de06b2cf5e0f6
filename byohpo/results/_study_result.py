"""A study's results as pandas tables: every trial, the best one, the Pareto set, generations.

:class:`StudyResult` reads a replayed event log (:class:`byohpo.study._store.StudyLog`)
and never writes anything: results can be read while the study still runs,
from another process, or long after it finished. Every table is rebuilt from
the log alone, so the same log always gives the same tables. The computations
live below it: :mod:`~byohpo.results._trials_table` (the table),
:mod:`~byohpo.results._best` (the completed and best trials, the Pareto set),
:mod:`~byohpo.results._generations` (generations and lineages) and
:mod:`~byohpo.results._summary`; plots and the report take a StudyResult and are
imported only when called.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from byohpo.errors import ByohpoError, StoreError
from byohpo.objectives import Objective
from byohpo.results import _best as best
from byohpo.results import _summary as summaries
from byohpo.results._generations import founders, generations_table, lineage
from byohpo.results._learning_curves import curve_table
from byohpo.results._trials_table import TrialsTable, has_own_job, recorded_space, status_counts
from byohpo.space import SearchSpace
from byohpo.study._store import StudyLog, replay

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["StudyResult"]


class StudyResult:
    """The results of one study, read from its event log.

    ``table()`` is the study as a DataFrame, one row per trial; ``best()``,
    ``best_config()`` and ``pareto_front()`` pick from its completed trials;
    ``generations()`` summarizes it per generation. Plots and an HTML report
    come from :mod:`byohpo.results._plots` and :mod:`byohpo.results._report` (the ``plots`` extra).

    A result is a snapshot: it does not change when the log grows. Load it
    again (:meth:`load`) to see a running study's progress.
    """

    def __init__(self, log: StudyLog) -> None:
        self.log = log
        self._space = recorded_space(log.study)
        self._columns = TrialsTable(log, self._space)
        self.objectives: tuple[Objective, ...] = self._columns.objectives
        self._trials = self._columns.records
        self._table: pd.DataFrame | None = None

    # -- construction ------------------------------------------------------------
    @classmethod
    def load(cls, location: str | os.PathLike[str]) -> StudyResult:
        """Read the study whose event log is at ``location`` (a directory or ``s3://`` prefix)."""
        from byohpo.study._store import Store

        store = Store(location)
        if not store.exists():
            raise StoreError(f"no study at {store.location}: its event log is missing or empty")
        return cls(store.load())

    @classmethod
    def from_events(cls, events: Iterable[Mapping[str, Any]]) -> StudyResult:
        """The result of a study given its events, in the order they were written."""
        return cls(replay(events))

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
        return self._columns.parameter_names()

    @property
    def tuned_parameter_names(self) -> list[str]:
        """The hyperparameters the strategy chooses (not the static ones)."""
        return self._columns.tuned_parameter_names()

    @property
    def metric_names(self) -> list[str]:
        """The job's metric definitions in order, then any other metric a job reported."""
        return self._columns.metric_names()

    @property
    def objective_columns(self) -> dict[str, str]:
        """Each objective's metric -> its column in :meth:`table`.

        One objective: ``"objective"``. Several: ``"objective[<metric>]"``.
        """
        return self._columns.objective_columns()

    @property
    def parameter_columns(self) -> dict[str, str]:
        """Each hyperparameter -> its column: its name, or ``param[<name>]`` if that is taken."""
        return self._columns.parameter_columns()

    @property
    def metric_columns(self) -> dict[str, str]:
        """Each metric -> its column: its own name, or ``metric[<name>]`` if that is taken."""
        return self._columns.metric_columns()

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
        return status_counts(self._columns.effective(r)[0] for r in self._trials)

    @property
    def trials(self) -> int:
        """Number of trials planned, duplicates and retries included."""
        return len(self._trials)

    @property
    def jobs_launched(self) -> int:
        """Number of trials that ran a training job of their own (not answered as duplicates)."""
        return sum(has_own_job(r) for r in self._trials)

    @property
    def total_cost(self) -> float:
        """Dollars billed for the jobs whose price and billable time are known."""
        return float(self.table()["cost"].sum(skipna=True))

    def cost_caveat(self) -> str:
        """Empty, or a parenthesized note of the trials :attr:`total_cost` leaves out."""
        return summaries.cost_caveat(self.table())

    # -- the table ----------------------------------------------------------------------
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
            self._table = self._columns.build()
        return self._table.copy()

    # -- the best trials -----------------------------------------------------------------
    def completed(self) -> pd.DataFrame:
        """Rows of :meth:`table` for the trials that completed with a value for every objective.

        Duplicates are left out (the trial they repeat is there). May be empty.
        """
        return best.completed(self.table(), self.objectives, self.objective_columns)

    def _candidates(self) -> pd.DataFrame:
        return best.candidates(
            self.table(),
            self.objectives,
            self.objective_columns,
            name=self.name,
            records=self._trials,
            counts=self.status_counts,
        )

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
        return best.best_row(self._candidates(), self.objectives, self.objective_columns)

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
        return best.pareto_front(self._candidates(), self.objectives, self.objective_columns)

    # -- per generation, and lineages ----------------------------------------------------
    def generations(self) -> pd.DataFrame:
        """One row per generation: trials, jobs, completed, failed, best, median, best_so_far, cost.

        ``best`` and ``median`` are over the generation's completed trials,
        ``best_so_far`` over every generation up to this one, each respecting
        the objective's direction (NaN where nothing completed). With several
        objectives these three come once per objective as ``best[<metric>]``,
        ``median[<metric>]`` and ``best_so_far[<metric>]``.
        """
        own_job = [has_own_job(r) for r in self._trials]
        return generations_table(self.table(), own_job, self.objectives, self.objective_columns)

    def founders(self) -> pd.Series[Any]:
        """Each trial's founding member: the first trial of its lineage, following ``parent_id``.

        A Series indexed by trial id; a trial without a parent is its own founder.
        """
        return founders(self._trials)

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
        return lineage(self.table(), self.log.trials, trial_id, self.name)

    # -- summaries --------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The study in a few numbers, ready for JSON: counts, cost, stop reason, best values."""
        return summaries.summary(self)

    def __repr__(self) -> str:
        return "\n  ".join(summaries.headline(self))

    def _repr_html_(self) -> str:
        return summaries.headline_html(self)

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
        """See :func:`byohpo.results._plots.plot_progress`."""
        from byohpo.results._plots import plot_progress

        return plot_progress(self, **options)

    def plot_parameters(self, **options: Any) -> Figure:
        """See :func:`byohpo.results._plots.plot_parameters`."""
        from byohpo.results._plots import plot_parameters

        return plot_parameters(self, **options)

    def plot_pareto(self, **options: Any) -> Figure:
        """See :func:`byohpo.results._plots.plot_pareto`."""
        from byohpo.results._plots import plot_pareto

        return plot_pareto(self, **options)

    def plot_learning_curves(self, **options: Any) -> Figure:
        """See :func:`byohpo.results._plots.plot_learning_curves`."""
        from byohpo.results._plots import plot_learning_curves

        return plot_learning_curves(self, **options)

    def plot_lineage(self, **options: Any) -> Figure:
        """See :func:`byohpo.results._plots.plot_lineage`."""
        from byohpo.results._plots import plot_lineage

        return plot_lineage(self, **options)

    def write_report(self, path: str | os.PathLike[str]) -> Path:
        """See :func:`byohpo.results._report.write_report`."""
        from byohpo.results._report import write_report

        return write_report(self, path)
