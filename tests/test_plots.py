"""Plots of a study's results: the right axes, points, scales and labels (not pixels)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from byohpo.errors import MissingExtraError, UserError
from byohpo.results import StudyResult
from byohpo.results._plots import plot_parameters, plot_pareto, plot_progress
from byohpo.space import Categorical, Continuous, SearchSpace
from tests.test_results import (
    METRIC,
    config,
    digits_study,
    job,
    study_event,
    two_objective_study,
)

pytest.importorskip("matplotlib")


@pytest.fixture
def result() -> StudyResult:
    return StudyResult.from_events(digits_study())


def _by_label(ax: Any, label: str) -> Any:
    found = [a for a in [*ax.collections, *ax.lines] if a.get_label() == label]
    assert len(found) == 1, f"one artist labelled {label!r}, found {len(found)}"
    return found[0]


def _points(artist: Any) -> int:
    if hasattr(artist, "get_offsets"):
        return len(artist.get_offsets())
    return len(artist.get_xdata())


def _render(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_progress_shows_completed_points_failures_and_the_best_so_far(
    result: StudyResult,
) -> None:
    figure = plot_progress(result)
    (ax,) = figure.axes
    assert _points(_by_label(ax, "completed")) == 5  # the duplicate is a point too
    failed = _by_label(ax, "failed")
    assert list(failed.get_xdata()) == [1]
    best = _by_label(ax, "best so far")
    assert list(best.get_ydata()) == pytest.approx([0.80, 0.85, 0.91, 0.91, 0.91])
    assert ax.get_xlabel() == "trial"
    assert ax.get_ylabel() == f"{METRIC} (maximize)"
    assert "digits-ga" in figure.get_suptitle()
    assert _render(figure).startswith(b"\x89PNG")


def test_progress_by_generation(result: StudyResult) -> None:
    (ax,) = plot_progress(result, by="generation").axes
    assert ax.get_xlabel() == "generation"
    assert list(_by_label(ax, "best so far").get_xdata()) == [0, 1]
    with pytest.raises(UserError, match="by must be"):
        plot_progress(result, by="minute")


def test_progress_of_a_minimized_objective_goes_down() -> None:
    events = [study_event({"train:loss": "minimize"})]
    events += job(0, 0.5) + job(1, 0.4) + job(2, 0.9)
    (ax,) = plot_progress(StudyResult.from_events(events)).axes
    assert list(_by_label(ax, "best so far").get_ydata()) == pytest.approx([0.5, 0.5, 0.1])


def test_progress_has_one_axes_per_objective() -> None:
    figure = plot_progress(StudyResult.from_events(two_objective_study()))
    assert [ax.get_ylabel() for ax in figure.axes] == [
        f"{METRIC} (maximize)",
        "train:seconds (minimize)",
    ]


def test_progress_without_a_completed_trial_still_draws() -> None:
    events = [study_event(), *job(0, None, failure_reason="boom")]
    figure = plot_progress(StudyResult.from_events(events))
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.texts] == ["no trial completed yet"]
    assert _points(_by_label(ax, "failed")) == 1
    _render(figure)


def test_parameters_one_axes_per_tuned_hyperparameter(result: StudyResult) -> None:
    figure = plot_parameters(result)
    axes = figure.axes
    assert [ax.get_xlabel() for ax in axes] == ["learning_rate", "num_epoch", "optimizer"]
    assert axes[0].get_xscale() == "log"
    assert axes[1].get_xscale() == "linear"
    assert [t.get_text() for t in axes[2].get_xticklabels()] == ["sgd", "adam"]
    for ax in axes:
        assert _points(_by_label(ax, "completed")) == 5
        assert _points(_by_label(ax, "failed")) == 1
    # The failed trial tried adam: category 1.
    assert list(_by_label(axes[2], "failed").get_xdata()) == [1.0]
    assert axes[0].get_ylabel() == f"{METRIC} (maximize)"
    _render(figure)


def test_parameters_against_another_metric(result: StudyResult) -> None:
    figure = plot_parameters(result, objective="train:loss")
    assert figure.axes[0].get_ylabel() == "train:loss"
    with pytest.raises(UserError, match="objective= must name"):
        plot_parameters(result, objective="nope")


def test_reverse_log_parameters_are_dense_near_one() -> None:
    space = SearchSpace(
        {
            "momentum": Continuous(0.5, 0.999, scaling="reverse_log"),
            "flag": Categorical([True, False]),
        }
    )
    events = [study_event(space=space)]
    for tid, momentum in enumerate([0.5, 0.9, 0.99, 0.999]):
        events += job(tid, 0.5 + tid / 10, {"momentum": momentum, "flag": tid % 2 == 0})
    figure = plot_parameters(StudyResult.from_events(events))
    momentum_ax, flag_ax = figure.axes
    assert momentum_ax.get_xscale() == "function"
    low, high = momentum_ax.get_xlim()
    assert low < 0.5 and 0.999 < high < 1.0
    assert [t.get_text() for t in flag_ax.get_xticklabels()] == ["true", "false"]
    _render(figure)


def test_pareto_of_two_objectives() -> None:
    figure = plot_pareto(StudyResult.from_events(two_objective_study()))
    (ax,) = figure.axes
    assert _points(_by_label(ax, "completed")) == 5
    front = _by_label(ax, "Pareto front")
    assert _points(front) == 4
    assert ax.get_xlabel() == f"{METRIC} (maximize)"
    assert ax.get_ylabel() == "train:seconds (minimize)"
    staircase = [line for line in ax.lines if line.get_drawstyle() == "steps-pre"]
    assert len(staircase) == 1
    assert list(staircase[0].get_xdata()) == [0.80, 0.85, 0.90, 0.95]
    _render(figure)


def test_pareto_of_three_objectives_shows_each_pair() -> None:
    objectives = {METRIC: "maximize", "train:seconds": "minimize", "size": "minimize"}
    events = [study_event(objectives, metric_names=list(objectives))]
    rng = np.random.default_rng(0)
    for tid in range(8):
        values = dict(zip(objectives, rng.random(3).tolist(), strict=True))
        events += [
            {
                "event": "asked",
                "trials": [
                    {
                        "trial_id": tid,
                        "config": config(epochs=10 + tid),
                        "hyperparameters": {},
                        "job_name": f"j-{tid}",
                    }
                ],
            },
            {"event": "result", "trial_id": tid, "status": "Completed", "metrics": values},
        ]
    figure = plot_pareto(StudyResult.from_events(events))
    assert len(figure.axes) == 3
    labels = {(ax.get_xlabel(), ax.get_ylabel()) for ax in figure.axes}
    assert (f"{METRIC} (maximize)", "size (minimize)") in labels


def test_pareto_needs_two_objectives(result: StudyResult) -> None:
    with pytest.raises(UserError, match="at least two objectives"):
        plot_pareto(result)


def test_result_methods_return_figures(result: StudyResult) -> None:
    from matplotlib.figure import Figure

    assert isinstance(result.plot_progress(), Figure)
    assert isinstance(result.plot_parameters(), Figure)
    assert isinstance(StudyResult.from_events(two_objective_study()).plot_pareto(), Figure)


def test_missing_matplotlib_names_the_extra(
    result: StudyResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'byohpo\[plots\]'"):
        plot_progress(result)


def test_plotting_touches_no_global_matplotlib_state() -> None:
    code = (
        "import io, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_results import digits_study\n"
        "from byohpo.results import StudyResult\n"
        "result = StudyResult.from_events(digits_study())\n"
        "result.plot_progress().savefig(io.BytesIO(), format='png')\n"
        "result.plot_parameters().savefig(io.BytesIO(), format='png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_lineage_plot_of_a_study_without_lineages_says_so() -> None:
    from byohpo.results._plots import plot_lineage

    events = digits_study()
    for event in events:
        for spec in event.get("trials", []):
            spec.pop("parent_id", None)  # a random search: no trial continues another
    with pytest.raises(UserError, match="no trial has a parent") as raised:
        plot_lineage(StudyResult.from_events(events))
    assert "plot_progress()" in str(raised.value)
