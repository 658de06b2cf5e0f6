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
        pacing.interval([tid])  # polled: still running at that instant
        pacing.ended(tid)  # and ended right then
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


def test_with_nothing_learned_many_jobs_are_polled_sooner_than_one() -> None:
    clock = VirtualClock()
    pacing = Pacing(clock, minimum=5.0)
    pacing.interval(range(100))
    clock.sleep(3600)
    assert pacing.interval(range(100)) == pytest.approx(36.0)  # one poll serves a hundred
    assert pacing.interval([0]) == MAX_POLL_INTERVAL


def test_a_one_hour_job_is_polled_a_handful_of_times_once_durations_are_known() -> None:
    pacing, clock = learned([3600.0] * 8)
    polls = polls_until(pacing, clock, [100], 3600.0)
    assert polls <= 25  # every 5 s, as before, would be 720; every 1% of its age, 300
    assert pacing.interval([100]) == 5.0  # at its expected end it is watched closely


def test_short_jobs_are_noticed_within_seconds() -> None:
    pacing, clock = learned([30.0] * 8)
    assert 28.0 <= pacing.interval([100]) <= 32.0  # about once, as it should end
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
    clock.sleep(580)
    assert 19.0 <= pacing.interval([100, 101]) <= 23.0  # 20 s to its end
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
    clock.sleep(900)
    reference, reference_clock = learned([1000.0])
    reference.interval([2])
    reference_clock.sleep(900)
    assert pacing.interval([2]) == pytest.approx(reference.interval([2]))


def test_a_job_is_learned_to_end_between_its_last_two_polls_not_when_noticed() -> None:
    clock = VirtualClock()
    pacing = Pacing(clock, minimum=5.0)
    pacing.interval([1])
    clock.sleep(3590)
    pacing.interval([1])  # still running
    clock.sleep(60)
    pacing.ended(1)  # noticed at 3650: it ended at 3620 or so, not at its notice
    pacing.interval([2])
    clock.sleep(3000)
    reference, reference_clock = learned([3620.0])
    reference.interval([2])
    reference_clock.sleep(3000)
    assert pacing.interval([2]) == pytest.approx(reference.interval([2]))


def test_one_duration_seen_tells_less_than_fifty_alike() -> None:
    one, clock = learned([1000.0])
    one.interval([100])
    clock.sleep(500)
    many, many_clock = learned([1000.0] * 50)
    many.interval([100])
    many_clock.sleep(500)
    assert many.interval([100]) == MAX_POLL_INTERVAL  # 500 s to go, as fifty jobs tell
    assert one.interval([100]) < 150.0  # one job may have been quick: it may end sooner


def test_many_jobs_whose_lengths_are_spread_are_polled_more_often_than_one() -> None:
    spread = [1000.0 + 20.0 * i for i in range(50)]  # 1000 to 1980 s
    one, clock = learned(spread)
    one.interval([100])
    clock.sleep(1000)
    alone = one.interval([100])
    many, clock = learned(spread)
    many.interval(list(range(100, 110)))
    clock.sleep(1000)
    together = many.interval(list(range(100, 110)))
    assert together < alone
    assert alone < 200.0  # never waits past a good share of its likely ends
