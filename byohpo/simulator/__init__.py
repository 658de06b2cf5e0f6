"""The simulator: a backend in virtual time, to measure and estimate studies before paying.

A :class:`Simulator` is a backend like the SageMaker one, whose jobs take
their metrics and durations from a :class:`Problem` (a function, or a
:class:`TableProblem` of real runs) and whose clock jumps instead of
waiting, so a study of thousands of jobs runs in seconds with the same
tuner, strategies and store as on SageMaker::

    sim = byohpo.Simulator(lambda hp: {"validation:accuracy": guess(hp)},
                           duration=lambda hp: 60 * hp["num_epoch"], duration_sigma=0.3,
                           seed=0)
    result = byohpo.Tuner(job, space, backend=sim, store=MemoryEventLog(), ...).run()
    sim.usage().wall_seconds, sim.usage().cost, sim.api_calls
"""

from __future__ import annotations

from byohpo._clock import VirtualClock
from byohpo.simulator._backend import Simulator
from byohpo.simulator._curves import CurveProblem
from byohpo.simulator._jobs import SimulatedJob
from byohpo.simulator._latency import SpotMarket, StartupModel
from byohpo.simulator._limits import AccountLimits
from byohpo.simulator._problems import FunctionProblem, JobContext, Outcome, Problem
from byohpo.simulator._table import TableProblem
from byohpo.simulator._usage import Usage

__all__ = [
    "AccountLimits",
    "CurveProblem",
    "FunctionProblem",
    "JobContext",
    "Outcome",
    "Problem",
    "SimulatedJob",
    "Simulator",
    "SpotMarket",
    "StartupModel",
    "TableProblem",
    "Usage",
    "VirtualClock",
]
