"""ASHA's promotion form on hand-made curves: who is paused where, and who is promoted when."""

from __future__ import annotations

import pytest

from byohpo.errors import UserError
from byohpo.stopping import ASHARule, CurvePoint, make_stopping_rule


def rule() -> ASHARule:
    return ASHARule(grace_period=1, reduction_factor=3, max_points=9, promote=True)


def test_the_first_jobs_at_a_rung_are_paused_not_stopped_for_good() -> None:
    asha = rule()
    first = asha.decide(CurvePoint(0, 1, 0.5))
    assert first.stop and first.resumable and "paused at rung 1" in first.reason
    assert asha.promotable() == []  # one of one: floor(1/3) = 0 may go on


def test_a_paused_job_is_promoted_once_enough_worse_ones_reach_its_rung() -> None:
    asha = rule()
    asha.decide(CurvePoint(0, 1, 0.9))  # paused: alone at the rung
    asha.decide(CurvePoint(1, 1, 0.2))  # paused
    assert asha.promotable() == []
    assert asha.decide(CurvePoint(2, 1, 0.1)).stop  # the third: the top 1 of 3 is trial 0
    promotable = asha.promotable()
    assert [(p.config_id, p.rung, p.value) for p in promotable] == [(0, 1, 0.9)]
    asha.promote_config(0, 1)
    assert asha.promotable() == []  # promoted once per rung
    # its next job's points go on from where the chain was: rung 3 is judged anew
    decision = asha.decide(CurvePoint(0, 3, 0.95))
    assert decision.stop and "rung 3" in decision.reason


def test_a_job_in_the_top_when_it_arrives_goes_on_without_a_pause() -> None:
    asha = rule()
    for tid, value in enumerate([0.1, 0.2]):
        asha.decide(CurvePoint(tid, 1, value))
    assert not asha.decide(CurvePoint(2, 1, 0.9)).stop  # best of 3: promoted in place
    assert asha.promotable() == []  # and it counts as the rung's one promotion


def test_points_of_a_paused_job_change_nothing_until_it_is_promoted() -> None:
    asha = rule()
    asha.decide(CurvePoint(0, 1, 0.5))
    assert not asha.decide(CurvePoint(0, 2, 0.6)).stop  # logged before the stop landed
    assert not asha.decide(CurvePoint(0, 3, 0.7)).stop  # not recorded at rung 3
    assert asha.options["promote"] is True


def test_promotions_come_from_the_highest_rung_first() -> None:
    asha = ASHARule(grace_period=1, reduction_factor=2, max_points=16, promote=True)
    asha.decide(CurvePoint(0, 1, 0.1))  # paused at 1
    asha.decide(CurvePoint(1, 1, 0.9))  # best of 2: goes on
    asha.decide(CurvePoint(1, 2, 0.9))  # paused at 2 (alone)
    asha.decide(CurvePoint(2, 1, 0.95))  # goes on at 1
    asha.decide(CurvePoint(2, 2, 0.5))  # rung 2: top 1 of 2 is trial 1 (paused)
    asha.decide(CurvePoint(3, 1, 0.05))  # rung 1: top 2 of 4 are 2 and 1, both gone on
    assert [(p.config_id, p.rung) for p in asha.promotable()] == [(1, 2)]


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("asha", {"promote": "yes"}, "promote is true or false"),
        ("median", {"promote": True}, "takes the options"),
        ("hyperband", {"max_points": 9, "promote": True}, "takes the options"),
    ],
)
def test_promotion_is_an_option_of_asha_alone(
    spec: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UserError, match=message):
        make_stopping_rule(spec, options)


def test_once_no_new_configuration_starts_each_rungs_best_goes_on() -> None:
    asha = rule()
    asha.decide(CurvePoint(0, 1, 0.9))
    asha.decide(CurvePoint(1, 1, 0.2))
    assert asha.promotable() == []  # 2 of 2: floor(2/3) = 0
    asha.finish()
    assert [p.config_id for p in asha.promotable()] == [0]  # the rung is complete: its best
    asha.promote_config(0, 1)
    assert not asha.decide(CurvePoint(0, 3, 0.95)).stop  # alone at rung 3, and the best there
