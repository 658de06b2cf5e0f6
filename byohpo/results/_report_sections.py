"""The report's interactive sections: parallel coordinates, importance, and the trials table.

Parallel coordinates are drawn by plotly (the ``plots`` extra) with plotly.js inlined
once, so the report still opens without a network. The trials table sorts when a
column's header is clicked (a few lines of inline JavaScript) and links each job to
its page in the SageMaker console and its CloudWatch log streams.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from byohpo.results._importance import importance
from byohpo.trial import JobPlace

if TYPE_CHECKING:
    from byohpo.results import StudyResult

TABLE_STYLE = """
.trials-box { max-height: 70vh; overflow: auto; border: 1px solid #ddd; }
table.sortable { margin: 0; }
table.sortable th { position: sticky; top: 0; cursor: pointer; user-select: none;
                    white-space: nowrap; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; }
table.sortable td { white-space: nowrap; max-width: 28em; overflow: hidden;
                    text-overflow: ellipsis; }
.bar { background: #4c78a8; height: 0.9em; display: inline-block; vertical-align: middle; }
"""

SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, i) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      function key(row) {
        var cell = row.cells[i];
        var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort")
                                                  : cell.textContent;
        var number = Number(text);
        return text === "" ? null : (isNaN(number) ? text : number);
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return (x === null) - (y === null); }  // blanks last
        var order = (typeof x === "number" && typeof y === "number")
          ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _escape(value: object) -> str:
    return html.escape(str(value))


def console_links(result: StudyResult) -> Callable[[str], str] | None:
    """HTML links to a job's SageMaker console page and log streams; None for local jobs."""
    region = result.study.get("region")
    if not region or JobPlace.recorded(result.study) is not JobPlace.AWS:
        return None  # a dry run's or the simulator's jobs have no console pages
    console = f"https://{region}.console.aws.amazon.com"

    def links(job_name: str) -> str:
        job = quote(job_name, safe="")
        page = f"{console}/sagemaker/home?region={region}#/jobs/{job}"
        # The console's own escaping of a log group path and a stream-name filter.
        group = "$252Faws$252Fsagemaker$252FTrainingJobs"
        logs = (
            f"{console}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
            f"{group}$3FlogStreamNameFilter$3D{job}$252F"
        )
        return (
            f'<a href="{_escape(page)}" target="_blank" rel="noopener">job</a> '
            f'<a href="{_escape(logs)}" target="_blank" rel="noopener">logs</a>'
        )

    return links


def trials_table_html(
    table: pd.DataFrame, cell: Callable[[object], str], money: Callable[[object], str], links: Any
) -> str:
    """Every trial, in a scrolling box that fits the page, sortable by any column."""
    columns = list(table.columns)
    head = "".join(f"<th>{_escape(c)}</th>" for c in columns)
    if links is not None:
        head += "<th>AWS console</th>"
    rows = []
    for record in table.to_dict(orient="records"):
        cells = []
        for column in columns:
            value = record[column]
            text = money(value) if column == "cost" else cell(value)
            raw = ""
            if isinstance(value, int | float) and not isinstance(value, bool):
                raw = "" if math.isnan(value) else repr(value)
                cells.append(f'<td class="num" data-sort="{raw}">{_escape(text)}</td>')
            else:
                cells.append(f'<td title="{_escape(text)}">{_escape(text)}</td>')
        if links is not None:
            job_name = record.get("job_name")
            cells.append(f"<td>{links(str(job_name)) if isinstance(job_name, str) else ''}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<p class="hint">Click a column\'s name to sort by it (again to reverse).</p>'
        '<div class="trials-box"><table class="sortable frame trials">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f"<script>{SORT_SCRIPT}</script>"
    )


def importance_html(result: StudyResult) -> str:
    """Bars of each tuned hyperparameter's share of the objective's variance."""
    if len(result.objectives) != 1:
        return '<p class="note">Importance is shown for studies of one objective.</p>'
    table = result.table()
    params = {
        n: c for n, c in result.parameter_columns.items() if n in result.tuned_parameter_names
    }
    found = importance(table, params, "objective")
    if not found:
        return (
            '<p class="note">Too few completed trials (or no spread in the objective) '
            "to estimate importance.</p>"
        )
    rows = "".join(
        f"<tr><td>{_escape(i.parameter)}</td><td>{i.share:.0%}</td>"
        f'<td><span class="bar" style="width:{12 * i.share:.2f}em"></span></td></tr>'
        for i in found
    )
    return (
        "<p>The share of the objective's variance each hyperparameter explains alone "
        "(first-order variance decomposition over the completed trials, corrected for "
        "chance; interactions are not counted).</p>"
        f"<table><tr><th>hyperparameter</th><th>share</th><th></th></tr>{rows}</table>"
    )


def parallel_coordinates_html(result: StudyResult) -> str:
    """An interactive parallel-coordinates plot of the completed trials (plotly, inlined)."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        return "<p class=\"note\">Parallel coordinates need plotly: pip install 'byohpo[plots]'</p>"
    if len(result.objectives) != 1:
        return ""
    table = result.table()
    done = table[pd.to_numeric(table["objective"], errors="coerce").notna()]
    if len(done) < 2:
        return '<p class="note">Parallel coordinates need two completed trials.</p>'
    dimensions: list[dict[str, Any]] = []
    for name, column in result.parameter_columns.items():
        if name not in result.tuned_parameter_names or column not in done:
            continue
        values = done[column]
        numeric = pd.to_numeric(values, errors="coerce")
        spec = result.space.to_json().get(name, {}) if result.space is not None else {}
        if numeric.notna().all() and spec.get("scaling") == "log" and (numeric > 0).all():
            exponents = np.log10(numeric.astype(float))
            ticks = np.arange(math.floor(exponents.min()), math.ceil(exponents.max()) + 1)
            dimensions.append(
                {
                    "label": f"{name} (log scale)",
                    "values": exponents.tolist(),
                    "tickvals": ticks.tolist(),
                    "ticktext": [f"{10.0**t:g}" for t in ticks],
                }
            )
        elif numeric.notna().all():
            dimensions.append({"label": name, "values": numeric.astype(float).tolist()})
        else:
            codes, labels = pd.factorize(values.astype(str), sort=True)
            dimensions.append(
                {
                    "label": name,
                    "values": codes.tolist(),
                    "tickvals": list(range(len(labels))),
                    "ticktext": [str(v) for v in labels],
                }
            )
    objective = pd.to_numeric(done["objective"]).astype(float).tolist()
    metric = result.objectives[0].metric
    dimensions.append({"label": metric, "values": objective})
    figure = go.Figure(
        go.Parcoords(
            line={"color": objective, "colorscale": "Viridis", "showscale": True},
            dimensions=dimensions,
        )
    )
    figure.update_layout(height=420, margin={"l": 60, "r": 60, "t": 50, "b": 30})
    return str(
        figure.to_html(
            full_html=False,
            include_plotlyjs=True,
            config={"displaylogo": False},
            div_id="parallel-coordinates",
        )
    ) + (
        '<p class="hint">Drag along an axis to keep only the trials in that range; '
        f"the colour is {_escape(metric)}.</p>"
    )
