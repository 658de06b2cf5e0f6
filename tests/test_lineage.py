"""Lineages of a population based training study: founders, a trial's chain, the plot."""

from __future__ import annotations

from typing import Any

import pytest

from byohpo.errors import UserError
from byohpo.results import StudyResult
from tests.test_results import config, job, study_event

PBT_OPTIONS = {"step_parameter": "num_epoch", "step_size": 10, "mutable": None}


def pbt_study() -> list[dict[str, Any]]:
    """Three founders; founder 2 is copied by member 0 in generation 1; trial 5 fails.

    ::

        generation 0     1            2
        0 (0.60)  ──
        1 (0.70)  ──── 4 (0.75) ──── 7 (0.80)
        2 (0.80)  ─┬── 3 (0.85) ──── 6 (0.90)
                   └── 5 (failed)    8 (0.86), copied from 3 after 5 failed
    """
    events = [study_event(strategy="pbt", strategy_options=PBT_OPTIONS)]
    events += job(0, 0.60, config(0.001, 10, "sgd"))
    events += job(1, 0.70, config(0.003, 10, "adam"))
    events += job(2, 0.80, config(0.01, 10, "sgd"))
    events += job(3, 0.85, config(0.012, 20, "sgd"), generation=1, parent_id=2)
    events += job(4, 0.75, config(0.003, 20, "adam"), generation=1, parent_id=1)
    events += job(5, None, config(0.008, 20, "sgd"), generation=1, parent_id=2)
    events += job(6, 0.90, config(0.012, 30, "sgd"), generation=2, parent_id=3)
    events += job(7, 0.80, config(0.003, 30, "adam"), generation=2, parent_id=4)
    events += job(8, 0.86, config(0.0144, 30, "adam"), generation=2, parent_id=3)
    return events


@pytest.fixture
def result() -> StudyResult:
    return StudyResult.from_events(pbt_study())


def test_every_trial_knows_its_founder(result: StudyResult) -> None:
    assert result.founders().to_dict() == {0: 0, 1: 1, 2: 2, 3: 2, 4: 1, 5: 2, 6: 2, 7: 1, 8: 2}


def test_the_lineage_of_the_best_trial_is_its_schedule(result: StudyResult) -> None:
    chain = result.lineage()
    assert chain["trial_id"].tolist() == [2, 3, 6]
    assert chain["generation"].tolist() == [0, 1, 2]
    assert chain["learning_rate"].tolist() == [0.01, 0.012, 0.012]
    assert chain["num_epoch"].tolist() == [10, 20, 30]
    assert list(chain.columns) == list(result.table().columns)


def test_the_lineage_of_any_trial(result: StudyResult) -> None:
    assert result.lineage(8)["trial_id"].tolist() == [2, 3, 8]
    assert result.lineage(0)["trial_id"].tolist() == [0]
    with pytest.raises(UserError, match="trial_id must be a trial"):
        result.lineage(42)


def test_the_lineage_plot_draws_each_step_from_its_parent_in_its_founders_colour(
    result: StudyResult,
) -> None:
    pytest.importorskip("matplotlib")
    figure = result.plot_lineage()
    objective, learning_rate, optimizer = figure.axes
    assert objective.get_ylabel() == "validation:accuracy (maximize)"
    assert learning_rate.get_ylabel() == "learning_rate"  # the step parameter is left out
    assert learning_rate.get_yscale() == "log"
    assert [t.get_text() for t in optimizer.get_yticklabels()] == ["sgd", "adam"]
    edges = [line for line in objective.lines if len(line.get_xdata()) == 2]
    # 5 completed children drawn from their parents (the failed one is a cross, not a line)
    assert len(edges) == 5
    colours = {
        (tuple(line.get_xdata()), tuple(line.get_ydata())): line.get_color() for line in edges
    }
    assert colours[((0, 1), (0.80, 0.85))] == colours[((1, 2), (0.85, 0.86))]  # founder 2
    assert colours[((0, 1), (0.70, 0.75))] != colours[((0, 1), (0.80, 0.85))]
    legend = [t.get_text() for t in objective.get_legend().get_texts()]
    assert legend == ["founder 0", "founder 1", "founder 2"]
    failures = [line for line in objective.lines if line.get_marker() == "x"]
    assert [list(line.get_xdata()) for line in failures] == [[1.0]]


def test_the_lineage_plot_takes_chosen_parameters_and_refuses_unknown_ones(
    result: StudyResult,
) -> None:
    pytest.importorskip("matplotlib")
    assert len(result.plot_lineage(parameters=["learning_rate"]).axes) == 2
    with pytest.raises(UserError, match="parameters="):
        result.plot_lineage(parameters=["dropout"])


def test_the_report_of_a_study_with_warm_started_trials_shows_the_lineages() -> None:
    pytest.importorskip("matplotlib")
    from byohpo.results._report import render_report

    events = pbt_study()
    assert 'alt="Lineages"' not in render_report(StudyResult.from_events(events))
    copy = {"event": "checkpoint", "trial_id": 3, "parent_id": 2, "source_job": "digits-ga-2"}
    events.insert(events.index({"event": "submitted", "trial_id": 3}), copy)
    assert 'alt="Lineages"' in render_report(StudyResult.from_events(events))
