"""``byohpo compare``: one study file, several strategies, one report.

Each strategy (and each repeat, with its own seed) runs as a study of its own,
``<study>-<strategy>[-r<repeat>]``, with the file's job, space, objective and
budget, so their jobs never mix. A study of the comparison that already finished
is read, not run again, and one that was interrupted is resumed: running the
same comparison twice pays for no job twice. The report puts them side by side:
best so far against jobs paid for and against dollars spent, and each
strategy's best configuration.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import math
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from byohpo.cli._dry_run import study_backend
from byohpo.errors import MissingExtraError, UserError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from byohpo.backends._base import Backend
    from byohpo.results import StudyResult
    from byohpo.study_file import StudyFile


@dataclass(frozen=True)
class ComparedStudy:
    """One run of the comparison: a strategy, a repeat, and its study's result."""

    strategy: str
    repeat: int
    seed: int | None
    result: StudyResult

    @property
    def label(self) -> str:
        return self.strategy if self.repeat == 0 else f"{self.strategy} (repeat {self.repeat})"


def parse_strategies(text: str) -> list[str]:
    """``"ga,random,sagemaker:bayesian"`` as a list; each name checked before anything runs."""
    from byohpo.strategies import make_strategy

    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UserError(
            "--strategies names at least one strategy", repr(text), "Write e.g. ga,random."
        )
    if len(set(names)) != len(names):
        raise UserError("--strategies names each strategy once", repr(text), "Drop the repeats.")
    for name in names:
        make_strategy(name)  # an unknown name fails here, with the nearest suggested
    return names


def study_name_for(base: str, strategy: str, repeat: int) -> str:
    """The name of one run's study: ``<study>-<strategy>[-r<repeat>]``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", strategy).strip("-")
    return f"{base}-{slug}" + (f"-r{repeat}" if repeat else "")


def run_comparison(
    study: StudyFile,
    strategies: Sequence[str],
    *,
    repeats: int = 1,
    dry_run: bool = False,
    progress: bool = True,
    backend: Callable[[str, str], AbstractContextManager[Backend]] | None = None,
) -> list[ComparedStudy]:
    """Run (or read, or resume) every strategy's study; returns them in order.

    ``backend(location, study_name)`` gives each run's backend as a context manager
    (default: SageMaker, or with ``dry_run`` the fake AWS service beside the run's store).
    """
    from byohpo.results import StudyResult
    from byohpo.study._store import Store
    from byohpo.study._tuner import Tuner, study_location

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise UserError("--repeats must be a whole number >= 1", repr(repeats), "Give e.g. 3.")
    file_strategy = str(study.tuner_args.get("strategy", ""))
    base_seed = study.tuner_args.get("seed")
    # Every run's Tuner is built (and so checked) before the first job of any is launched.
    plans: list[tuple[int, dict[str, Any]]] = []
    for strategy in strategies:
        for repeat in range(repeats):
            seed = None if base_seed is None and repeats == 1 else int(base_seed or 0) + repeat
            name = study_name_for(study.name, strategy, repeat)
            plan: dict[str, Any] = {
                "strategy": strategy,
                "strategy_options": (
                    study.tuner_args.get("strategy_options") if strategy == file_strategy else {}
                ),
                "study_name": name,
                "seed": seed,
                "store": study_location(name),
            }
            study.make_tuner(**plan, progress=False)
            plans.append((repeat, plan))
    compared: list[ComparedStudy] = []
    for repeat, plan in plans:
        location, name = plan["store"], plan["study_name"]
        log = Store(location).load() if Store(location).exists() else None
        if log is not None and log.study and log.finished is not None:
            result = StudyResult(log)  # already run: read, never paid again
        else:
            runs_on = (
                backend(location, name)
                if backend
                else study_backend(
                    dry_run=dry_run,
                    inputs=study.dry_run_inputs,
                    location=location,
                    name=name,
                    faults=study.dry_run_faults if dry_run else None,
                )
            )
            with runs_on as chosen:
                if log is not None and log.study:
                    result = Tuner.resume(location, backend=chosen, progress=progress)
                else:
                    tuner = study.make_tuner(
                        **plan, backend=chosen, progress=progress, on_interrupt="keep"
                    )
                    result = tuner.run()
        compared.append(ComparedStudy(plan["strategy"], repeat, plan["seed"], result))
    return compared


# -- the report -----------------------------------------------------------------------------
def summary_table(compared: Sequence[ComparedStudy]) -> pd.DataFrame:
    """One row per run: its study, jobs, cost, best objective and best configuration."""
    import pandas as pd

    from byohpo.errors import NoCompletedTrialError

    rows: list[dict[str, Any]] = []
    for run in compared:
        result = run.result
        row: dict[str, Any] = {
            "strategy": run.strategy,
            "repeat": run.repeat,
            "seed": run.seed,
            "study": result.name,
            "jobs": result.jobs_launched,
            "cost": result.total_cost,
        }
        try:
            best = result.best()
        except (NoCompletedTrialError, UserError):
            best = None
        if isinstance(best, pd.Series):
            row["best"] = float(best["objective"])
            row.update({f"best {k}": v for k, v in result.best_config().items()})
        else:
            row["best"] = math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def strategy_medians(table: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: the median best, jobs and cost over its repeats."""
    import pandas as pd

    grouped = table.groupby("strategy", sort=False)
    return pd.DataFrame(
        {
            "repeats": grouped.size(),
            "median best": grouped["best"].median(),
            "median jobs": grouped["jobs"].median(),
            "median cost": grouped["cost"].median(),
        }
    ).reset_index()


def _best_so_far(result: StudyResult) -> tuple[list[float], list[float], list[float]]:
    """Per paid job, in order: jobs so far, dollars so far, best objective so far."""
    table = result.table()
    paid = table[table["duplicate_of"].isna()].sort_values("trial_id")
    objective = result.objectives[0]
    best, jobs, dollars = [], [], []
    current = math.nan
    spent = 0.0
    for count, (_, row) in enumerate(paid.iterrows(), start=1):
        value = float(row["objective"])
        if not math.isnan(value) and (
            math.isnan(current) or (value > current if objective.maximize else value < current)
        ):
            current = value
        cost = float(row["cost"])
        spent += 0.0 if math.isnan(cost) else cost
        jobs.append(float(count))
        dollars.append(spent)
        best.append(current)
    return jobs, dollars, best


def plot_best_so_far(compared: Sequence[ComparedStudy]) -> Figure:
    """Two panels: best so far against jobs paid for, and against dollars spent."""
    from byohpo.errors import require_extra

    pyplot: Any = require_extra("matplotlib.figure", "matplotlib", "plots", "Plotting")
    figure = pyplot.Figure(figsize=(12.0, 4.5), layout="constrained")
    by_jobs, by_dollars = figure.subplots(1, 2)
    for run in compared:
        jobs, dollars, best = _best_so_far(run.result)
        by_jobs.plot(jobs, best, drawstyle="steps-post", label=run.label)
        by_dollars.plot(dollars, best, drawstyle="steps-post", label=run.label)
    metric = compared[0].result.objectives[0].metric
    by_jobs.set_xlabel("jobs paid for")
    by_dollars.set_xlabel("dollars spent")
    for ax in (by_jobs, by_dollars):
        ax.set_ylabel(f"best {metric} so far")
        ax.legend(loc="best", fontsize="small")
    return figure


def _html_table(frame: pd.DataFrame) -> str:
    import pandas as pd

    shown = frame.copy()
    for column in shown.columns:
        if "cost" in str(column):
            shown[column] = [f"${v:,.4f}" if not pd.isna(v) else "" for v in shown[column]]
    return str(shown.to_html(index=False, border=0, na_rep="", float_format="{:.6g}".format))


def render_comparison(study_name: str, compared: Sequence[ComparedStudy]) -> str:
    """The comparison report as one self-contained HTML page."""
    table = summary_table(compared)
    try:
        buffer = io.BytesIO()
        plot_best_so_far(compared).savefig(buffer, format="png", dpi=100)
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        plots = f'<img alt="best so far" src="data:image/png;base64,{png}">'
    except MissingExtraError as exc:
        plots = f"<p>The report has no plots: {html.escape(str(exc))}</p>"
    objective = compared[0].result.objectives[0]
    title = f"Comparison of strategies on {study_name}"
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Objective: {html.escape(objective.metric)} ({objective.direction.value}). "
        f"Runs: {len(compared)}. A run's study can be opened with "
        "<code>byohpo results STUDY --report FILE.html</code>.</p>",
        "<h2>Best so far, against jobs and against dollars</h2>",
        plots,
        "<h2>Each strategy (median over its repeats)</h2>",
        _html_table(strategy_medians(table)),
        "<h2>Each run's best configuration</h2>",
        _html_table(table),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px}"
        "table{border-collapse:collapse}th,td{border-bottom:1px solid #ddd;padding:.25em .7em}"
        "img{max-width:100%}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


# -- the command ----------------------------------------------------------------------------
def add_compare_parser(commands: Any) -> None:
    """Add ``compare`` to the ``byohpo`` command's subparsers."""
    compare = commands.add_parser(
        "compare", help="run one study file with several strategies; one report"
    )
    compare.add_argument("study_file", metavar="STUDY.toml")
    compare.add_argument(
        "--strategies", required=True, help="comma-separated, e.g. ga,random,sagemaker:bayesian"
    )
    compare.add_argument("--repeats", type=int, default=1, help="runs per strategy (seeds differ)")
    compare.add_argument("--dry-run", action="store_true", help="a fake AWS; jobs run here")
    compare.add_argument("--report", metavar="FILE.html", help="where to write the report")
    compare.add_argument("--quiet", action="store_true", help="no progress lines")


def cmd_compare(args: argparse.Namespace) -> int:
    from byohpo.study._tuner import studies_dir
    from byohpo.study_file import load_study_file

    study = load_study_file(args.study_file)
    strategies = parse_strategies(args.strategies)
    compared = run_comparison(
        study, strategies, repeats=args.repeats, dry_run=args.dry_run, progress=not args.quiet
    )
    path = Path(args.report) if args.report else studies_dir() / f"{study.name}-comparison.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_comparison(study.name, compared), encoding="utf-8")
    table = summary_table(compared)
    shown = [c for c in ("strategy", "repeat", "jobs", "cost", "best") if c in table]
    print(table[shown].to_string(index=False))
    print(f"comparison report written to {path}")
    return 0
