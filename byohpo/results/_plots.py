"""Figures of a study's results: progress, hyperparameters against the objective, the Pareto
front, and the lineages of population based training.

Needs the ``plots`` extra (matplotlib). Each function returns a new
:class:`matplotlib.figure.Figure` built without pyplot: nothing global is
touched (no backend is chosen, no figure is registered), so the functions work
headless, in scripts and in notebooks (where a returned figure displays
itself). Save one with ``fig.savefig("progress.png")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from byohpo.errors import ByohpoError, UserError, require_extra
from byohpo.space import Categorical, Continuous, Integer, format_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from byohpo.results import StudyResult

__all__ = [
    "plot_comparison",
    "plot_learning_curves",
    "plot_lineage",
    "plot_parameters",
    "plot_pareto",
    "plot_progress",
]

_POINT = "C0"
_FAILED = "C3"
_BEST = "C1"
_FRONT = "C3"


def _figure(width: float, height: float) -> Figure:
    module: Any = require_extra(
        "matplotlib.figure", "matplotlib", "plots", "Plotting a study's results"
    )
    figure: Figure = module.Figure(figsize=(width, height), layout="constrained")
    return figure


def _grid(figure: Figure, count: int, columns: int = 3) -> list[Axes]:
    """``count`` axes in rows of at most ``columns``; the unused cells are removed."""
    ncols = max(1, min(columns, count))
    nrows = max(1, math.ceil(count / ncols))
    cells = list(figure.subplots(nrows, ncols, squeeze=False).flat)
    for extra in cells[count:]:
        extra.remove()
    return cells[:count]


def _axis_label(result: StudyResult, metric: str) -> str:
    for obj in result.objectives:
        if obj.metric == metric:
            return f"{metric} ({obj.direction.value})"
    return metric


def _mark_failures(ax: Axes, x: Sequence[float] | np.ndarray[Any, Any]) -> None:
    """Failed trials as crosses along the bottom edge (they have no objective to plot)."""
    if len(x):
        ax.plot(
            np.asarray(x, dtype=float),
            np.full(len(x), 0.02),
            linestyle="none",
            marker="x",
            color=_FAILED,
            label="failed",
            transform=ax.get_xaxis_transform(),
        )


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def plot_progress(result: StudyResult, *, by: str = "trial") -> Figure:
    """The objective of every trial over the study, failures marked, with the best so far.

    ``by="trial"`` puts trial ids on the x-axis; ``by="generation"`` puts
    generations there. One axes per objective, stacked. Completed trials are
    points (label ``"completed"``), failed trials crosses along the bottom
    (``"failed"``), and the best value so far a step line (``"best so far"``),
    each objective in its own direction.
    """
    if by not in ("trial", "generation"):
        raise UserError("by must be 'trial' or 'generation'", repr(by), "Pick one of those.")
    if not result.objectives:
        raise UserError("a progress plot needs the study's objective", "none recorded", None)
    x_column = "trial_id" if by == "trial" else "generation"
    table = result.table()
    figure = _figure(8.0, 1.0 + 3.0 * len(result.objectives))
    axes = figure.subplots(len(result.objectives), 1, sharex=True, squeeze=False)[:, 0]
    for ax, obj in zip(axes, result.objectives, strict=True):
        column = result.objective_columns[obj.metric]
        done = table[(table["status"] == "Completed") & table[column].notna()]
        if len(done):
            ax.scatter(done[x_column], done[column], s=18, color=_POINT, label="completed")
            per_x = done.groupby(x_column)[column].agg("max" if obj.maximize else "min")
            best = per_x.cummax() if obj.maximize else per_x.cummin()
            ax.plot(
                best.index,
                best.to_numpy(),
                drawstyle="steps-post",
                color=_BEST,
                label="best so far",
            )
        else:
            _note(ax, "no trial completed yet")
        _mark_failures(ax, table.loc[table["status"] == "Failed", x_column].to_numpy())
        ax.set_ylabel(_axis_label(result, obj.metric))
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel(by)
    figure.suptitle(f"{result.name}: progress")
    return figure


def _scale_functions(
    parameter: object,
) -> tuple[str, Callable[[Any], Any] | None, Callable[[Any], Any] | None]:
    """The axis scale for a parameter: its name, and forward/inverse functions when custom."""
    if isinstance(parameter, Continuous | Integer) and parameter.scaling == "log":
        return "log", np.log10, lambda y: np.power(10.0, y)
    if isinstance(parameter, Continuous) and parameter.scaling == "reverse_log":
        # Dense near 1 as the search is: distance from 1 on a log scale.
        def forward(x: Any) -> Any:
            return -np.log10(np.clip(1.0 - np.asarray(x, dtype=float), 1e-12, None))

        def inverse(y: Any) -> Any:
            return 1.0 - np.power(10.0, -np.asarray(y, dtype=float))

        return "function", forward, inverse
    return "linear", None, None


def _set_range(ax: Axes, parameter: Continuous | Integer) -> None:
    """Show the parameter's whole search range, with a little room at both ends."""
    _, forward, inverse = _scale_functions(parameter)
    lo, hi = float(parameter.min), float(parameter.max)
    if forward is None or inverse is None:
        pad = 0.03 * (hi - lo)
        ax.set_xlim(lo - pad, hi + pad)
        return
    a, b = float(forward(lo)), float(forward(hi))
    pad = 0.03 * (b - a)
    ax.set_xlim(float(inverse(a - pad)), float(inverse(b + pad)))


def plot_parameters(result: StudyResult, *, objective: str | None = None) -> Figure:
    """Each tuned hyperparameter against the objective, one axes per hyperparameter.

    ``objective`` names the metric on the y-axis (default: the study's first
    objective; any reported metric may be named). Log-scaled parameters get a
    log x-axis, reverse-log ones an axis dense near 1, categorical ones one
    tick per category. Completed trials are points; failed trials are
    crosses along the bottom at the values they tried.
    """
    metric = objective or (result.objectives[0].metric if result.objectives else None)
    if metric is None:
        raise UserError("a parameter plot needs a metric", "none", "Pass objective='<metric>'.")
    if metric in result.objective_columns:
        y_column = result.objective_columns[metric]
    elif metric in result.metric_columns:
        y_column = result.metric_columns[metric]
    else:
        raise UserError(
            "objective= must name one of the study's metrics",
            repr(metric),
            f"Use one of {result.metric_names}.",
        )
    names = result.tuned_parameter_names
    if not names:
        raise UserError("a parameter plot needs a tuned hyperparameter", "none recorded", None)
    table = result.table()
    done = table[(table["status"] == "Completed") & table[y_column].notna()]
    failed = table[table["status"] == "Failed"]
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    figure = _figure(4.0 * ncols, 0.6 + 3.2 * nrows)
    space = result.space
    for index, (ax, name) in enumerate(zip(_grid(figure, len(names)), names, strict=True)):
        column = result.parameter_columns[name]
        parameter = space.get(name) if space is not None else None
        numeric = pd.api.types.is_numeric_dtype(table[column]) and not pd.api.types.is_bool_dtype(
            table[column]
        )
        if isinstance(parameter, Categorical) or (parameter is None and not numeric):
            choices = (
                list(parameter.values)
                if isinstance(parameter, Categorical)
                else list(dict.fromkeys(table[column].dropna().tolist()))
            )
            position = {format_value(v): i for i, v in enumerate(choices)}

            def place(
                values: pd.Series[Any], position: dict[str, int] = position
            ) -> np.ndarray[Any, Any]:
                return np.array(
                    [position.get(format_value(v), math.nan) for v in values], dtype=float
                )

            ax.set_xticks(range(len(choices)), labels=[format_value(v) for v in choices])
            ax.set_xlim(-0.5, len(choices) - 0.5)
            x_done, x_failed = place(done[column]), place(failed[column])
        else:
            x_done = done[column].to_numpy(dtype=float)
            x_failed = failed[column].to_numpy(dtype=float)
            scale, forward, inverse = _scale_functions(parameter)
            if scale == "function" and forward is not None and inverse is not None:
                ax.set_xscale("function", functions=(forward, inverse))
            elif scale == "log":
                ax.set_xscale("log")
            if isinstance(parameter, Continuous | Integer):
                _set_range(ax, parameter)
        if len(done):
            ax.scatter(x_done, done[y_column], s=18, color=_POINT, label="completed")
        else:
            _note(ax, "no trial completed yet")
        _mark_failures(ax, x_failed)
        ax.set_xlabel(name)
        if index % ncols == 0:
            ax.set_ylabel(_axis_label(result, metric))
    figure.suptitle(f"{result.name}: {metric} against each hyperparameter")
    return figure


def plot_pareto(result: StudyResult) -> Figure:
    """The completed trials in objective space with the Pareto front highlighted.

    Two objectives: one axes, the front joined by a staircase. More: one axes
    per pair of objectives, the front (non-dominated in all objectives) highlighted
    in each. Completed trials are labelled ``"completed"``, the front ``"Pareto front"``.
    """
    objectives = result.objectives
    if len(objectives) < 2:
        raise UserError(
            "a Pareto plot needs a study with at least two objectives",
            f"{len(objectives)} ({', '.join(o.metric for o in objectives) or 'none'})",
            "Use plot_progress() for a single objective.",
        )
    pairs = list(combinations(objectives, 2))
    ncols = min(3, len(pairs))
    nrows = math.ceil(len(pairs) / ncols)
    figure = _figure(max(5.5, 4.2 * ncols), 0.6 + 4.0 * nrows)
    done = result.completed()
    front = result.pareto_front() if len(done) else done
    columns = result.objective_columns
    for ax, (a, b) in zip(_grid(figure, len(pairs)), pairs, strict=True):
        xa, yb = columns[a.metric], columns[b.metric]
        if len(done):
            ax.scatter(done[xa], done[yb], s=16, color="0.65", label="completed")
            ax.scatter(front[xa], front[yb], s=28, color=_FRONT, label="Pareto front", zorder=3)
            if len(objectives) == 2:
                # From worst to best in the first objective, dropping to each next point:
                # the edge of the region the front dominates.
                ordered = front.sort_values(xa, ascending=a.maximize)
                ax.plot(ordered[xa], ordered[yb], drawstyle="steps-pre", color=_FRONT, linewidth=1)
            ax.legend(loc="best", fontsize="small")
        else:
            _note(ax, "no trial completed yet")
        ax.set_xlabel(_axis_label(result, a.metric))
        ax.set_ylabel(_axis_label(result, b.metric))
    figure.suptitle(f"{result.name}: Pareto front")
    return figure


def plot_comparison(results: Mapping[str, StudyResult], *, objective: str | None = None) -> Figure:
    """Best value so far against the number of paid jobs, one line per study.

    ``results`` maps a label (e.g. the strategy's name) to a study's result.
    Studies must share the objective; duplicates (answered for free) do not
    advance the x-axis, so the lines compare what each strategy got for the
    same money.
    """
    if not results:
        raise UserError("a comparison needs at least one study", "{}", "Pass {label: result}.")
    first = next(iter(results.values()))
    metric = objective or first.objectives[0].metric
    figure = _figure(8.0, 4.5)
    ax = figure.subplots()
    for label, result in results.items():
        obj = next((o for o in result.objectives if o.metric == metric), None)
        if obj is None:
            raise UserError(
                f"every compared study must have the objective {metric!r}",
                f"{label!r} optimizes {[o.metric for o in result.objectives]}",
                "Compare studies of the same objective.",
            )
        table = result.table()
        paid = table[table["duplicate_of"].isna()].reset_index(drop=True)
        values = paid[result.objective_columns[metric]].astype(float)
        filled = values.fillna(-np.inf if obj.maximize else np.inf)
        best = filled.cummax() if obj.maximize else filled.cummin()
        best = best.replace([np.inf, -np.inf], np.nan)
        ax.plot(np.arange(1, len(best) + 1), best.to_numpy(), drawstyle="steps-post", label=label)
    ax.set_xlabel("jobs paid for")
    ax.set_ylabel(_axis_label(first, metric))
    ticker: Any = require_extra("matplotlib.ticker", "matplotlib", "plots", "Plotting")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.legend(loc="best", fontsize="small")
    figure.suptitle(f"best {metric} so far")
    return figure


def _mutable_parameters(result: StudyResult) -> list[str]:
    """The hyperparameters a population based training study changed within lineages."""
    options = result.study.get("strategy_options") or {}
    mutable = options.get("mutable")
    if mutable:
        return [str(name) for name in mutable]
    step = options.get("step_parameter")
    return [name for name in result.tuned_parameter_names if name != step]


def plot_lineage(
    result: StudyResult,
    *,
    parameters: Sequence[str] | None = None,
    objective: str | None = None,
) -> Figure:
    """Population based training as it happened: the objective and each mutable
    hyperparameter over the generations, one colour per founding member.

    Each trial is a point at its generation, joined by a line to its parent
    (the trial whose checkpoint it continued): a member that copied a donor
    continues the donor's line, in the donor's founder's colour, so surviving
    lineages branch and the others end. Failed trials are crosses (on the
    objective's axes, along the bottom). ``parameters`` defaults to the mutable
    ones (every tuned one but the step parameter); ``objective`` to the study's
    first objective.
    """
    table = result.table()
    if "parent_id" not in table or not table["parent_id"].notna().any():
        raise UserError(
            "a lineage plot needs a study whose trials continue other trials (population "
            "based training: strategy='pbt')",
            f"study {result.name!r} ({result.study.get('strategy', 'unknown strategy')}), "
            "where no trial has a parent",
            "Use plot_progress() or plot_parameters() for this study.",
        )
    metric = objective or (result.objectives[0].metric if result.objectives else None)
    if metric is None or metric not in result.metric_columns:
        raise UserError(
            "a lineage plot needs one of the study's metrics",
            repr(metric),
            f"Pass objective= one of {result.metric_names}.",
        )
    y_metric = result.objective_columns.get(metric, result.metric_columns[metric])
    names = list(parameters) if parameters is not None else _mutable_parameters(result)
    unknown = [n for n in names if n not in result.parameter_columns]
    if unknown:
        raise UserError(
            "parameters= must name hyperparameters of the study",
            repr(unknown),
            f"Use some of {result.parameter_names}.",
        )
    table["founder_id"] = table["trial_id"].map(result.founders())
    founders = list(dict.fromkeys(table.sort_values("trial_id")["founder_id"].tolist()))
    colour = {f: f"C{i % 10}" for i, f in enumerate(founders)}
    figure = _figure(8.0, 1.0 + 2.6 * (1 + len(names)))
    axes = figure.subplots(1 + len(names), 1, sharex=True, squeeze=False)[:, 0]
    ids = [int(t) for t in table["trial_id"].tolist()]
    generation = dict(zip(ids, (int(g) for g in table["generation"].tolist()), strict=True))
    parents = dict(zip(ids, table["parent_id"].tolist(), strict=True))
    hue = {t: colour[int(f)] for t, f in zip(ids, table["founder_id"].tolist(), strict=True)}
    failed = {t for t, s in zip(ids, table["status"].tolist(), strict=True) if s == "Failed"}
    space = result.space
    columns = [(y_metric, _axis_label(result, metric), None)] + [
        (result.parameter_columns[n], n, space.get(n) if space is not None else None) for n in names
    ]
    for ax, (column, label, parameter) in zip(axes, columns, strict=True):
        place = _placer(ax, table[column], parameter)
        value = dict(zip(ids, (float(v) for v in place(table[column])), strict=True))
        for trial in ids:
            parent = parents[trial]
            if parent is not None and not pd.isna(parent) and not math.isnan(value[trial]):
                ax.plot(
                    [generation[int(parent)], generation[trial]],
                    [value[int(parent)], value[trial]],
                    color=hue[trial],
                    linewidth=1.0,
                    alpha=0.8,
                )
            if trial in failed and column == y_metric:
                _mark_failures(ax, [float(generation[trial])])
                ax.lines[-1].set_color(hue[trial])
            elif not math.isnan(value[trial]):
                ax.plot(
                    [generation[trial]],
                    [value[trial]],
                    linestyle="none",
                    marker="x" if trial in failed else "o",
                    markersize=4,
                    color=hue[trial],
                )
        ax.set_ylabel(label)
    if table.empty:
        _note(axes[0], "no trial yet")
    handles = [
        axes[0].plot([], [], color=colour[f], marker="o", label=f"founder {f}")[0]
        for f in founders[:10]
    ]
    if handles:
        axes[0].legend(handles=handles, loc="best", fontsize="small", ncol=2)
    axes[-1].set_xlabel("generation")
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(f"{result.name}: lineages")
    return figure


def _placer(
    ax: Axes, values: pd.Series[Any], parameter: object
) -> Callable[[pd.Series[Any]], np.ndarray[Any, Any]]:
    """How values of one column are placed on the y-axis (categories at their index)."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if isinstance(parameter, Categorical) or (parameter is None and not numeric):
        choices = (
            list(parameter.values)
            if isinstance(parameter, Categorical)
            else list(dict.fromkeys(values.dropna().tolist()))
        )
        position = {format_value(v): i for i, v in enumerate(choices)}
        ax.set_yticks(range(len(choices)), labels=[format_value(v) for v in choices])

        def place(column: pd.Series[Any]) -> np.ndarray[Any, Any]:
            return np.array([position.get(format_value(v), math.nan) for v in column], dtype=float)

        return place
    scale, forward, inverse = _scale_functions(parameter)
    if scale == "function" and forward is not None and inverse is not None:
        ax.set_yscale("function", functions=(forward, inverse))
    elif scale == "log":
        ax.set_yscale("log")
    return lambda column: column.to_numpy(dtype=float, na_value=math.nan)


def plot_learning_curves(result: StudyResult, *, metric: str | None = None) -> Figure:
    """Every learning curve early stopping read, one line per trial, stops marked.

    ``metric`` defaults to the metric the study's curves were read for (the
    early-stopping metric). Jobs that ran to the end are solid lines; jobs a
    stopping rule ended are thin grey lines ending in a cross at the point
    where the rule stopped them (label ``"stopped"``); the best trial is
    highlighted (``"best"``). x is the curve point (an epoch when the script
    prints one line per epoch).
    """
    curves = result.learning_curves()
    if metric is None:
        metric = str(curves["metric"].iloc[0]) if len(curves) else None
    if metric is None or curves.empty:
        raise UserError(
            "a learning-curve plot needs the curves early stopping reads",
            "a study without early stopping (no curve was recorded)",
            "Run the study with early_stopping='median', 'asha' or 'hyperband'.",
        )
    curves = curves[curves["metric"] == metric]
    table = result.table().set_index("trial_id")
    try:
        row = result.best() if len(result.objectives) == 1 else None
        best = int(row["trial_id"]) if isinstance(row, pd.Series) else None
    except ByohpoError:
        best = None
    figure = _figure(8.0, 4.5)
    ax = figure.subplots(1, 1, squeeze=False)[0, 0]
    stops = table["stopped_at"].dropna().astype("int64")
    styles = {
        "best": (_BEST, 2.0, 3),
        "stopped": ("0.6", 0.8, 1),
        "ran to the end": (_POINT, 0.9, 2),
    }
    labelled: set[str] = set()
    for tid, points in curves.groupby("trial_id"):
        kind = "best" if tid == best else "stopped" if tid in stops.index else "ran to the end"
        color, width, order = styles[kind]
        label = None if kind in labelled or kind == "stopped" else kind
        ax.plot(points["point"], points["value"], color=color, lw=width, zorder=order, label=label)
        labelled.add(kind)
    at = curves.merge(stops.rename("point").reset_index(), on=["trial_id", "point"])
    if len(at):
        ax.scatter(at["point"], at["value"], marker="x", color=_FAILED, label="stopped", zorder=4)
    ax.set_xlabel("point (epoch)")
    ax.set_ylabel(_axis_label(result, metric))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="best", fontsize="small")
    figure.suptitle(f"{result.name}: learning curves")
    return figure
