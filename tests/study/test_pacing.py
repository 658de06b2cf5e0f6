"""Poll intervals from the expected remaining time of the jobs in flight (injected clock)."""

from __future__ import annotations

import pytest

from byohpo._clock import VirtualClock
from byohpo.study._pacing import MAX_POLL_INTERVAL, Pacing


def learned(durations: list[float]) -> tuple[Pacing, VirtualClock]:
    """A pacing that has seen jobs last ``durations`` from launch to end, one at a time."""
    clock = VirtualClock()
    pacing = Pacing(clock, minimum=5.0)
    for tid, seconds in enumerate(durations):
        pacing.interval([tid])  # launched now
        clock.sleep(seconds)
        pacing.ended(tid)
    return pacing, clock


def polls_until(pacing: Pacing, clock: VirtualClock, tids: list[int], end: float) -> int:
    """Polls a loop makes from now until ``end`` seconds later."""
    start, polls = clock.now(), 0
    while clock.now() - start < end:
        clock.sleep(pacing.interval(tids))
        polls += 1
    return polls


def test_with_nothing_learned_young_jobs_are_polled_at_the_minimum() -> None:
    clock = VirtualClock()
    pacing = Pacing(clock, minimum=5.0)
    assert pacing.interval([1]) == 5.0
    clock.sleep(20)
    assert pacing.interval([1]) == 5.0
    clock.sleep(980)
    assert pacing.interval([1]) == pytest.approx(100.0)  # a tenth of its age


def test_a_one_hour_job_is_polled_a_handful_of_times_once_durations_are_known() -> None:
    pacing, clock = learned([3600.0] * 8)
    polls = polls_until(pacing, clock, [100], 3600.0)
    assert polls <= 25  # every 5 s, as before, would be 720; every 1% of its age, 300
    assert pacing.interval([100]) == 5.0  # at its expected end it is watched closely


def test_short_jobs_are_noticed_within_seconds() -> None:
    pacing, clock = learned([30.0] * 8)
    assert pacing.interval([100]) <= 15.0
    clock.sleep(30)
    assert pacing.interval([100]) == 5.0


def test_a_straggler_is_polled_less_and_less_but_at_most_every_maximum() -> None:
    pacing, clock = learned([600.0] * 8)
    pacing.interval([100])
    clock.sleep(605)
    assert pacing.interval([100]) == 5.0  # just overdue: it may end any moment
    clock.sleep(3 * 86400)
    assert pacing.interval([100]) == MAX_POLL_INTERVAL


def test_the_soonest_job_sets_the_interval() -> None:
    pacing, clock = learned([600.0] * 8)
    pacing.interval([100])
    clock.sleep(590)
    assert pacing.interval([100, 101]) == 5.0
    assert pacing.interval([101]) > 100.0


def test_with_no_job_in_flight_the_loop_comes_back_at_the_minimum() -> None:
    pacing, _ = learned([3600.0] * 8)
    assert pacing.interval([]) == 5.0  # e.g. to launch again after no capacity


def test_a_fixed_poll_interval_overrides_everything_but_the_minimum() -> None:
    clock = VirtualClock()
    assert Pacing(clock, minimum=5.0, fixed=30.0).interval([1, 2]) == 30.0
    assert Pacing(clock, minimum=5.0, fixed=1.0).interval([1]) == 5.0


class SteppingClock(VirtualClock):
    """Timestamps step back by ``step`` while monotonic time goes on."""

    def __init__(self) -> None:
        super().__init__()
        self.step = 0.0

    def now(self) -> float:
        return super().now() - self.step

    def monotonic(self) -> float:
        return super().now()


def test_a_clock_stepping_back_neither_stalls_nor_rushes_polling() -> None:
    clock = SteppingClock()
    pacing = Pacing(clock, minimum=5.0)
    pacing.interval([1])
    clock.sleep(1000)
    before = pacing.interval([1])
    clock.step = 3600.0  # the system clock is set back an hour
    assert pacing.interval([1]) == before
    pacing.ended(1)  # it lasted 1000 s, not -2600
    pacing.interval([2])
    clock.sleep(500)
    assert pacing.interval([2]) == pytest.approx(0.5 * (1000 - 500))
