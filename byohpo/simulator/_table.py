"""A simulated problem from a table of real runs: metrics and durations interpolated on a grid."""

from __future__ import annotations

import csv
import itertools
import math
import os
from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from byohpo.errors import UserError
from byohpo.simulator._problems import JobContext, Outcome, check_sigma, lognormal_factor


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class TableProblem:
    """Metrics and training seconds looked up in a table of runs, interpolated between rows.

    Each row is one run: a value for each of ``parameters``, a value for each
    of ``metrics``, and its training time in the ``seconds`` column. The rows
    must form a full grid (a row for every combination of the parameters'
    values). A numeric parameter is interpolated linearly between its two
    nearest grid values (on a log scale for those in ``log_scale``) and
    clamped to the grid's ends; a text parameter must match a row exactly,
    or the job fails saying which values the table has. Hyperparameters the
    table does not name are ignored.

    ``curve`` names a parameter that counts progress, such as the number of
    epochs: a job's learning curve is then the metrics at each grid value
    of it up to the job's own, logged at the seconds the table gives for
    them. With ``resume`` (the default when there is a curve), a job that
    finds a checkpoint saying it reached an earlier value trains only the
    rest, as a script that resumes from its checkpoint does; its metrics are
    the table's for the whole run with its own hyperparameters.

    Durations are the table's seconds times ``duration_scale`` (to stand for
    a bigger dataset or a slower instance), times log-normal noise of spread
    ``duration_sigma``. Interpolation never exceeds the rows it is between,
    so the best value of a metric over the whole space is the best in the
    table (:meth:`best`).
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        parameters: Sequence[str],
        metrics: Sequence[str],
        seconds: str = "seconds",
        log_scale: Collection[str] = (),
        curve: str | None = None,
        resume: bool | None = None,
        duration_scale: float = 1.0,
        duration_sigma: float = 0.0,
    ) -> None:
        rows = [dict(r) for r in rows]
        if not rows:
            raise UserError("a TableProblem needs rows", "none", "Give at least one run.")
        columns = [*parameters, *metrics, seconds]
        missing = [c for c in columns if c not in rows[0]]
        if missing:
            raise UserError(
                "every parameter, metric and the seconds column must be a column of the table",
                f"missing {missing}; the table has {sorted(rows[0])}",
                "Rename the columns or the arguments.",
            )
        if curve is not None and curve not in parameters:
            raise UserError(
                "curve must be one of the parameters", repr(curve), f"Pick one of {parameters}."
            )
        unknown_log = [p for p in log_scale if p not in parameters]
        if unknown_log:
            raise UserError(
                "log_scale names parameters of the table", repr(unknown_log), "Fix the names."
            )
        if isinstance(duration_scale, bool) or not _positive(duration_scale):
            raise UserError(
                "duration_scale must be a positive number", repr(duration_scale), "Use e.g. 1.0."
            )
        self.parameters = tuple(parameters)
        self.metrics = tuple(metrics)
        self.curve = curve
        self.resume = curve is not None if resume is None else bool(resume)
        self.duration_scale = float(duration_scale)
        self.duration_sigma = check_sigma(duration_sigma)
        self._log = frozenset(log_scale)
        self._numeric = {p: all(_number(r[p]) is not None for r in rows) for p in parameters}
        self._grid: dict[str, list[Any]] = {}
        for p in parameters:
            values = {self._key(p, r[p]) for r in rows}
            self._grid[p] = sorted(values) if self._numeric[p] else sorted(values, key=str)
        self._axes = {p: [self._scaled(p, v) for v in self._grid[p]] for p in parameters}
        self._cells: dict[tuple[Any, ...], tuple[float, ...]] = {}
        for r in rows:
            key = tuple(self._key(p, r[p]) for p in parameters)
            numbers = [_number(r[c]) for c in (*metrics, seconds)]
            cell = tuple(n for n in numbers if n is not None)
            if len(cell) != len(numbers):
                raise UserError(
                    "metrics and seconds in the table must be numbers",
                    repr({c: r[c] for c in (*metrics, seconds)}),
                    "Fix the row.",
                )
            self._cells[key] = cell
        expected = math.prod(len(v) for v in self._grid.values())
        if len(self._cells) != expected:
            raise UserError(
                "a TableProblem's rows must form a full grid (one row per combination)",
                f"{len(self._cells)} distinct rows for {expected} combinations",
                "Add the missing runs, or drop the parameter that is not on a grid.",
            )

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], **options: Any) -> TableProblem:
        """The problem from a CSV file with a header row (see the class for ``options``)."""
        with open(path, newline="") as handle:
            return cls(csv.DictReader(handle), **options)

    # -- the grid ----------------------------------------------------------------------------
    def _key(self, parameter: str, value: Any) -> Any:
        if self._numeric[parameter]:
            number = _number(value)
            if number is None:
                raise ValueError(f"{parameter}={value!r} is not a number")
            return number
        return str(value)

    def _scaled(self, parameter: str, value: Any) -> float:
        if not self._numeric[parameter]:
            return 0.0
        return math.log(value) if parameter in self._log else float(value)

    def grid(self, parameter: str) -> list[Any]:
        """The values the table has for one parameter, in order."""
        return list(self._grid[parameter])

    def _weights(self, parameter: str, value: Any) -> list[tuple[Any, float]]:
        if not self._numeric[parameter]:
            text = str(value)
            if text not in self._grid[parameter]:
                raise ValueError(
                    f"the table has no runs with {parameter}={text!r}; "
                    f"it has {', '.join(map(repr, self._grid[parameter]))}"
                )
            return [(text, 1.0)]
        number = _number(value)
        if number is None or (parameter in self._log and number <= 0):
            raise ValueError(f"{parameter}={value!r} is not a number the table can look up")
        axis, grid = self._axes[parameter], self._grid[parameter]
        x = self._scaled(parameter, number)
        if x <= axis[0] or len(axis) == 1:
            return [(grid[0], 1.0)]
        if x >= axis[-1]:
            return [(grid[-1], 1.0)]
        i = bisect_right(axis, x) - 1
        w = (x - axis[i]) / (axis[i + 1] - axis[i])
        return [(grid[i], 1.0 - w), (grid[i + 1], w)] if w > 0 else [(grid[i], 1.0)]

    def _lookup(self, values: Mapping[str, Any]) -> tuple[float, ...]:
        per_parameter = [self._weights(p, values[p]) for p in self.parameters]
        total = [0.0] * (len(self.metrics) + 1)
        for corner in itertools.product(*per_parameter):
            weight = math.prod(w for _, w in corner)
            cell = self._cells[tuple(v for v, _ in corner)]
            for i, value in enumerate(cell):
                total[i] += weight * value
        return tuple(total)

    def evaluate(self, hyperparameters: Mapping[str, Any]) -> tuple[dict[str, float], float]:
        """The metrics and the training seconds (unscaled, no noise) of a whole run.

        Raises ``ValueError`` for a value the table cannot look up, and ``KeyError``
        for a parameter of the table the hyperparameters lack.
        """
        *values, seconds = self._lookup(hyperparameters)
        return dict(zip(self.metrics, values, strict=True)), seconds

    def best(self, metric: str, *, maximize: bool = True) -> float:
        """The best value of ``metric`` anywhere in the space (the best row of the table)."""
        i = self.metrics.index(metric)
        values = [cell[i] for cell in self._cells.values()]
        return max(values) if maximize else min(values)

    # -- the simulated job --------------------------------------------------------------------
    def run(self, job: JobContext) -> Outcome:
        hp = job.hyperparameters
        try:
            missing = [p for p in self.parameters if p not in hp]
            if missing:
                raise ValueError(f"the job has no hyperparameter {missing[0]!r}")
            metrics, seconds = self.evaluate(hp)
            curves, start = self._curves(hp, job.checkpoint)
        except ValueError as exc:
            return Outcome(0.0, failure_reason=f"AlgorithmError: {exc}")
        scale = self.duration_scale * lognormal_factor(job.rng, self.duration_sigma)
        trained = max(0.0, seconds - start) * scale
        checkpoint = None
        if self.curve is not None:
            reached = float(hp[self.curve])
            if isinstance(job.checkpoint, Mapping):
                reached = max(reached, float(job.checkpoint.get(self.curve, 0.0)))
            checkpoint = {self.curve: reached, "hyperparameters": dict(hp)}
        scaled = {
            name: [(offset * scale, value) for offset, value in points]
            for name, points in curves.items()
        }
        return Outcome(trained, metrics, scaled, checkpoint=checkpoint)

    def _curves(
        self, hp: Mapping[str, Any], checkpoint: Any
    ) -> tuple[dict[str, list[tuple[float, float]]], float]:
        """Each metric's learning curve as ``(seconds into this job, value)``, and the table
        seconds at which this job starts (after the checkpoint it resumes from)."""
        if self.curve is None:
            return {}, 0.0
        target = float(hp[self.curve])
        start_at = 0.0
        if self.resume and isinstance(checkpoint, Mapping) and self.curve in checkpoint:
            start_at = min(float(checkpoint[self.curve]), target)
        steps = [v for v in self._grid[self.curve] if start_at < v < target] + [target]
        start = self._lookup({**hp, self.curve: start_at})[-1] if start_at > 0 else 0.0
        curves: dict[str, list[tuple[float, float]]] = {m: [] for m in self.metrics}
        for step in steps if target > start_at else []:
            *values, seconds = self._lookup({**hp, self.curve: step})
            for name, value in zip(self.metrics, values, strict=True):
                curves[name].append((max(0.0, seconds - start), value))
        return curves, start


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0
