"""The stopping rules on hand-made learning curves: which jobs they stop, where, and why."""

from __future__ import annotations

import pytest

from byohpo.errors import UserError
from byohpo.stopping import (
    ASHARule,
    CurvePoint,
    Decision,
    HyperbandRule,
    MedianRule,
    as_decision,
    make_stopping_rule,
)


def feed(rule: object, curves: dict[int, list[float]], maximize: bool = True) -> dict[int, int]:
    """Feed curves epoch by epoch, round robin as jobs run side by side; trial -> stop point."""
    stopped: dict[int, int] = {}
    length = max(len(c) for c in curves.values())
    for epoch in range(1, length + 1):
        for tid, curve in curves.items():
            if tid in stopped or epoch > len(curve):
                continue
            point = CurvePoint(tid, epoch, curve[epoch - 1], maximize=maximize)
            if as_decision(rule.decide(point), rule).stop:  # type: ignore[attr-defined]
                stopped[tid] = epoch
    return stopped


def test_median_stops_the_job_below_the_others_running_averages() -> None:
    good = [0.5, 0.7, 0.8, 0.85]
    curves = {0: good, 1: good, 2: good, 3: [0.1, 0.15, 0.2, 0.2]}
    assert feed(MedianRule(), curves) == {3: 1}


def test_median_waits_for_min_trials_and_grace_period() -> None:
    good = [0.5, 0.7, 0.8, 0.85]
    bad = [0.1, 0.15, 0.2, 0.2]
    assert feed(MedianRule(min_trials=4), {0: good, 1: good, 2: good, 3: bad}) == {}
    assert feed(MedianRule(grace_period=3), {0: good, 1: good, 2: good, 3: bad}) == {3: 3}


def test_median_judges_by_the_best_value_so_far_and_minimizes() -> None:
    losses = [1.0, 0.6, 0.4, 0.3]
    # Trial 3 had one bad epoch (2) after a best value better than the others' averages.
    curves = {0: losses, 1: losses, 2: losses, 3: [0.5, 0.9, 0.35, 0.3]}
    assert feed(MedianRule(), curves, maximize=False) == {}
    curves[3] = [1.5, 1.4, 1.3, 1.2]
    assert feed(MedianRule(), curves, maximize=False) == {3: 1}


def test_median_reason_names_the_median() -> None:
    rule = MedianRule(min_trials=1)
    rule.decide(CurvePoint(0, 1, 0.9))
    decision = rule.decide(CurvePoint(1, 1, 0.2))
    assert decision.stop and "median 0.9" in decision.reason


def test_asha_keeps_the_top_third_at_each_rung() -> None:
    # Nine jobs, rungs at 1 and 3 epochs (9 is the end); the best job reports first.
    curves = {tid: [0.1 * (9 - tid) + 0.01 * e for e in range(1, 10)] for tid in range(9)}
    stopped = feed(ASHARule(grace_period=1, reduction_factor=3, max_points=9), curves)
    assert 0 not in stopped
    assert set(stopped.values()) == {1}  # all cut at the first rung: none reaches rung 3 worse
    assert len(stopped) == 8


def test_asha_never_stops_a_job_better_than_all_before_it() -> None:
    # Asynchronous: a job is compared with those that reached the rung before it, so when
    # each newcomer is the best so far nobody is stopped (the price of never waiting).
    curves = {tid: [0.1 * tid + 0.01 * e for e in range(1, 10)] for tid in range(9)}
    assert feed(ASHARule(grace_period=1, reduction_factor=3, max_points=9), curves) == {}


def test_asha_in_arrival_order_stops_every_job_worse_than_the_rung_cutoff() -> None:
    rule = ASHARule(grace_period=2, reduction_factor=2)
    assert not rule.decide(CurvePoint(0, 1, 0.1)).stop  # before the first rung
    assert not rule.decide(CurvePoint(0, 2, 0.8)).stop  # first at rung 2
    decision = rule.decide(CurvePoint(1, 2, 0.3))
    assert decision.stop and "rung 2" in decision.reason
    assert not rule.decide(CurvePoint(2, 2, 0.9)).stop


def test_asha_judges_a_job_once_per_rung_even_if_points_skip_it() -> None:
    rule = ASHARule(grace_period=1, reduction_factor=2)
    rule.decide(CurvePoint(0, 1, 0.9))
    rule.decide(CurvePoint(0, 2, 0.9))
    # Trial 1's first report is at point 3: it is judged at rung 1 and 2 with that value.
    assert rule.decide(CurvePoint(1, 3, 0.1)).stop


def test_hyperband_deals_brackets_in_hyperbands_proportions() -> None:
    rule = HyperbandRule(max_points=9, grace_period=1, reduction_factor=3)
    assert rule.s_max == 2
    brackets = [rule.bracket_of(t) for t in range(17)]
    assert brackets.count(2) == 9 and brackets.count(1) == 5 and brackets.count(0) == 3


def test_hyperbands_last_bracket_never_stops_a_job() -> None:
    rule = HyperbandRule(max_points=9)
    never = [t for t in range(17) if rule.bracket_of(t) == 0]
    for epoch in range(1, 10):
        for t in range(17):
            value = 1.0 if t not in never else 0.0  # the never-stopped ones are the worst
            decision = rule.decide(CurvePoint(t, epoch, value))
            if t in never:
                assert not decision.stop


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("ashaa", {}, "Did you mean 'asha'"),
        ("asha", {"reduction_factor": 1}, "reduction_factor is a whole number >= 2"),
        ("asha", {"grace": 2}, "takes the options"),
        ("median", {"grace_period": 0}, "grace_period is a whole number >= 1"),
        ("hyperband", {}, "needs max_points"),
        ("hyperband", {"max_points": 3, "grace_period": 3}, "grace_period < max_points"),
        (object(), {}, "decide(point)"),
    ],
)
def test_bad_rules_and_options_are_refused_with_a_fix(
    spec: object, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_stopping_rule(spec, options)


def test_a_users_rule_needs_one_method_and_may_answer_with_a_bool() -> None:
    class BelowHalf:
        def decide(self, point: CurvePoint) -> bool:
            return point.point >= 2 and point.value < 0.5

    rule = make_stopping_rule(BelowHalf())
    assert feed(rule, {0: [0.1, 0.2, 0.3], 1: [0.6, 0.7, 0.8]}) == {0: 2}
    assert as_decision(True, rule) == Decision(True, "BelowHalf said stop")
    with pytest.raises(UserError, match="returns True"):
        as_decision("stop", rule)
