"""The request pacer: bursts are spread at each API's rate, a throttle slows that API down
for a while, and the pacer measures intervals on monotonic time (never sleeping for real)."""

from __future__ import annotations

import itertools

import pytest

from byohpo._clock import VirtualClock
from byohpo.backends._rates import (
    SAGEMAKER_RATES,
    Rate,
    RequestPacer,
    RequestRates,
    shared_pacer,
)
from byohpo.errors import UserError

RATES = RequestRates({"CreateTrainingJob": Rate(per_second=1.0, burst=5)})


def send_times(pacer: RequestPacer, clock: VirtualClock, operation: str, count: int) -> list[float]:
    start = clock.now()
    times = []
    for _ in range(count):
        pacer.acquire(operation)
        times.append(clock.now() - start)
    return times


def test_a_burst_goes_out_at_the_burst_size_then_at_the_rate() -> None:
    clock = VirtualClock()
    pacer = RequestPacer(RATES, clock)
    times = send_times(pacer, clock, "CreateTrainingJob", 20)
    assert times[:5] == [0.0] * 5  # the bucket's burst goes at once
    gaps = [b - a for a, b in itertools.pairwise(times[4:])]
    assert gaps == pytest.approx([1.0] * 15)  # then one a second
    assert pacer.waited["CreateTrainingJob"] == pytest.approx(15.0)


def test_operations_without_a_rate_are_not_paced() -> None:
    clock = VirtualClock()
    pacer = RequestPacer(RATES, clock)
    assert send_times(pacer, clock, "PutObject", 50) == [0.0] * 50


def test_a_quiet_spell_refills_the_bucket() -> None:
    clock = VirtualClock()
    pacer = RequestPacer(RATES, clock)
    send_times(pacer, clock, "CreateTrainingJob", 10)
    clock.sleep(60)
    assert send_times(pacer, clock, "CreateTrainingJob", 5) == [0.0] * 5


def test_a_throttle_halves_the_rate_and_it_recovers_over_the_recovery_time() -> None:
    clock = VirtualClock()
    pacer = RequestPacer(RATES, clock, recovery_seconds=60)
    send_times(pacer, clock, "CreateTrainingJob", 5)
    pacer.throttled("CreateTrainingJob")
    assert pacer.share("CreateTrainingJob") == 0.5
    times = send_times(pacer, clock, "CreateTrainingJob", 4)
    assert times[0] == pytest.approx(2.0)  # the saved tokens are gone, the rate halved
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(1.5 < gap < 2.0 for gap in gaps)  # near one every two seconds, recovering
    pacer.throttled("CreateTrainingJob")
    assert pacer.share("CreateTrainingJob") < 0.5  # throttled again: slower still
    clock.sleep(61)
    assert pacer.share("CreateTrainingJob") == 1.0
    assert pacer.throttles["CreateTrainingJob"] == 2


def test_the_rate_never_falls_below_its_minimum_share() -> None:
    clock = VirtualClock()
    pacer = RequestPacer(RATES, clock, min_share=0.25)
    for _ in range(10):
        pacer.throttled("CreateTrainingJob")
    assert pacer.share("CreateTrainingJob") == 0.25


class SteppingClock(VirtualClock):
    """A wall clock whose timestamps jump back an hour while monotonic time goes on."""

    def __init__(self) -> None:
        super().__init__()
        self.step = 0.0

    def now(self) -> float:
        return super().now() - self.step

    def monotonic(self) -> float:
        return super().now()


def test_a_clock_stepping_back_does_not_stall_the_pacer() -> None:
    clock = SteppingClock()
    pacer = RequestPacer(RATES, clock)
    send_times(pacer, clock, "CreateTrainingJob", 5)
    clock.step = 3600.0
    times = send_times(pacer, clock, "CreateTrainingJob", 3)
    assert times[-1] == pytest.approx(3.0)  # seconds, not an hour


def test_studies_in_one_process_share_the_pacer_of_their_region() -> None:
    assert shared_pacer("eu-west-1") is shared_pacer("eu-west-1")
    assert shared_pacer("eu-west-1") is not shared_pacer("us-west-2")
    assert shared_pacer("eu-west-1").rates == SAGEMAKER_RATES


def test_sagemakers_documented_list_rate_is_the_default() -> None:
    assert SAGEMAKER_RATES.get("ListTrainingJobs") == Rate(per_second=2.0, burst=1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Rate(per_second=0.0),
        lambda: Rate(per_second=1.0, burst=0.5),
        lambda: RequestRates({"CreateTrainingJob": 5}),  # type: ignore[dict-item]
        lambda: RequestPacer(RATES, slowdown=1.5),
    ],
)
def test_bad_rates_are_refused_with_a_fix(make: object) -> None:
    with pytest.raises(UserError, match=r"For example|Write|Leave"):
        make()  # type: ignore[operator]
