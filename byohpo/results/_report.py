"""A study's results as one self-contained HTML file.

The report needs nothing but a browser: the plots are embedded as PNG images,
plotly.js (for the parallel coordinates) and the styles are inline, and nothing is
fetched from the network. It holds the study's definition, why it stopped, its cost,
the best configuration (or the Pareto set), the plots, parallel coordinates,
hyperparameter importance, a per-generation summary and every trial in a sortable
table that links each job to the SageMaker console and its logs. Without the
``plots`` extra the report is still written, and says why it has no plots.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from byohpo.errors import MissingExtraError, UserError
from byohpo.results._report_sections import (
    TABLE_STYLE,
    console_links,
    importance_html,
    parallel_coordinates_html,
    trials_table_html,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from byohpo.results import StudyResult

__all__ = ["render_report", "write_report"]

_STYLE = (
    """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
.state { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }
th { background: #f4f4f4; }
td.num, .frame td { font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
.note { color: #8a5a00; background: #fff6e0; padding: 0.5em 0.8em; border-radius: 4px; }
.hint { color: #666; font-size: 0.85em; margin: 0.2em 0; }
"""
    + TABLE_STYLE
)

# Keys of the study's definition shown in their own sections.
_SHOWN_ELSEWHERE = {
    "event",
    "format",
    "time",
    "name",
    "objectives",
    "space",
    "parameter_names",
    "metric_names",
    "prices",
}


def _escape(value: object) -> str:
    return html.escape(str(value))


def _cell(value: object) -> str:
    """A value as table text: blanks for missing values, floats to six significant digits."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _frame_html(frame: pd.DataFrame, css_class: str) -> str:
    shown = pd.DataFrame(
        {column: [_cell(v) for v in frame[column].tolist()] for column in frame.columns},
        columns=list(frame.columns),
        dtype=object,
    )
    if "cost" in frame.columns:
        shown["cost"] = [_money(v) for v in frame["cost"].tolist()]
    table = shown.to_html(index=False, escape=True, border=0, classes=["frame", css_class])
    return f'<div class="scroll">{table}</div>'


def _money(value: object) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return ""
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _pairs_html(pairs: Mapping[str, object]) -> str:
    rows = "".join(
        f"<tr><th>{_escape(key)}</th><td>{_escape(_cell(value))}</td></tr>"
        for key, value in pairs.items()
    )
    return f"<table>{rows}</table>"


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots_html(result: StudyResult) -> str:
    from byohpo.results import _plots as plots

    makers: list[tuple[str, Callable[[StudyResult], Figure]]] = [
        ("Progress", plots.plot_progress),
        ("Hyperparameters", plots.plot_parameters),
    ]
    if len(result.objectives) > 1:
        makers.append(("Pareto front", plots.plot_pareto))
    if any("checkpoint" in t.extra for t in result.log.trials.values()):  # warm starts
        makers.append(("Lineages", plots.plot_lineage))
    if any(e["event"] == "curve" for e in result.log.stopping_events()):  # curves were read
        makers.append(("Learning curves", plots.plot_learning_curves))
    parts: list[str] = []
    for title, make in makers:
        try:
            figure = make(result)
        except MissingExtraError as exc:
            return f'<p class="note">The report has no plots: {_escape(exc)}</p>'
        except UserError:
            continue  # the study has nothing this plot could show (e.g. no objective)
        parts.append(
            f'<img alt="{_escape(title)}" title="{_escape(title)}"'
            f' src="data:image/png;base64,{_png(figure)}">'
        )
    return "".join(parts) or '<p class="note">Nothing to plot yet.</p>'


def _space_html(result: StudyResult) -> str:
    space = result.space
    if space is None:
        return "<p>The study's log does not record its search space.</p>"
    rows = []
    for name, spec in space.to_json().items():
        kind = spec.get("type", "")
        if kind == "categorical":
            values = ", ".join(_cell(v) for v in spec["values"])
        elif kind == "static":
            values = _cell(spec["value"])
        else:
            values = f"[{_cell(spec['min'])}, {_cell(spec['max'])}] {spec.get('scaling', '')}"
        rows.append(
            f"<tr><td>{_escape(name)}</td><td>{_escape(kind)}</td><td>{_escape(values)}</td></tr>"
        )
    head = "<tr><th>hyperparameter</th><th>type</th><th>values</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _best_html(result: StudyResult) -> str:
    from byohpo.errors import NoCompletedTrialError

    try:
        if len(result.objectives) == 1:
            row = result.best()
            assert isinstance(row, pd.Series)
            obj = result.objectives[0]
            lead = {
                f"{obj.metric} ({obj.direction.value})": row["objective"],
                "trial": row["trial_id"],
                "job": row["job_name"],
            }
            config = result.best_config()
            return (
                "<h2>Best configuration</h2>"
                + _pairs_html(lead)
                + _pairs_html(config)
                + f"<pre>{_escape(json.dumps(config, indent=2))}</pre>"
            )
        front = result.pareto_front()
        return (
            f"<h2>Pareto front ({len(front)} trials)</h2>"
            "<p>No trial in this set is beaten by another completed trial in every objective.</p>"
            + _frame_html(front, "pareto")
        )
    except NoCompletedTrialError as exc:
        return f'<h2>Best configuration</h2><p class="note">{_escape(exc)}</p>'


def render_report(result: StudyResult) -> str:
    """The report as HTML text (what :func:`write_report` writes)."""
    summary = result.summary()
    study = result.study
    state = (
        f"Finished: {result.stop_reason}"
        if result.is_finished
        else "Not finished (yet, or crashed)"
    )
    objectives = ", ".join(f"{o.metric} ({o.direction.value})" for o in result.objectives)
    overview: dict[str, object] = {
        "objectives": objectives or "none recorded",
        "trials": summary["trials"],
        "jobs launched": summary["jobs_launched"],
        "by status": ", ".join(f"{n} {s}" for s, n in summary["status_counts"].items()),
        "total cost": _money(summary["total_cost"]) + result.cost_caveat(),
    }
    if summary["elapsed_seconds"] is not None:
        overview["first start to last end"] = f"{summary['elapsed_seconds'] / 60:.1f} min"
    definition = {k: v for k, v in study.items() if k not in _SHOWN_ELSEWHERE}
    if study.get("metric_names"):
        definition["metric definitions"] = ", ".join(map(str, study["metric_names"]))
    if study.get("prices"):
        definition["prices ($/h)"] = study["prices"]
    title = f"Study {result.name}"
    sections = [
        f"<h1>{_escape(title)}</h1>",
        f'<p class="state">{_escape(state)}</p>',
        "<h2>Summary</h2>",
        _pairs_html(overview),
        _best_html(result),
        "<h2>Plots</h2>",
        _plots_html(result),
        "<h2>Parallel coordinates</h2>",
        parallel_coordinates_html(result),
        "<h2>Hyperparameter importance</h2>",
        importance_html(result),
        "<h2>Definition</h2>",
        _pairs_html(definition),
        "<h3>Search space</h3>",
        _space_html(result),
        "<h2>Generations</h2>",
        _frame_html(result.generations(), "generations"),
        "<h2>Trials</h2>",
        trials_table_html(result.table(), _cell, _money, console_links(result)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def write_report(result: StudyResult, path: str | os.PathLike[str]) -> Path:
    """Write the study's self-contained HTML report to ``path`` (replaced if it exists).

    Returns the path written. Works without matplotlib: the report then says
    it has no plots and which ``pip install`` adds them.
    """
    target = Path(path)
    target.write_text(render_report(result), encoding="utf-8")
    return target
