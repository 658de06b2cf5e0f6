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

from byohpo.clock import VirtualClock
from byohpo.simulator.backend import Simulator
from byohpo.simulator.curves import CurveProblem
from byohpo.simulator.jobs import SimulatedJob
from byohpo.simulator.latency import SpotMarket, StartupModel
from byohpo.simulator.limits import AccountLimits
from byohpo.simulator.problems import FunctionProblem, JobContext, Outcome, Problem
from byohpo.simulator.table import TableProblem
from byohpo.simulator.usage import Usage

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
