"""Status by events in the simulator: EventBridge delivering job ends to the study's queue.

With :class:`EventDelivery`, a :class:`~byohpo.simulator.Simulator` plays what the
SageMaker backend does with an ``events_queue``: each job's end reaches the queue
after a delay drawn from a log-normal distribution (or never, with ``loss``); a poll
reads the queue (ReceiveMessage, DeleteMessageBatch), describes each job whose end
arrived, and lists SageMaker only when the safety net is due; between polls the
backend long-polls the queue and wakes as soon as a job's end arrives. The
bookkeeping (safety net, missed events) is the backend's own
:class:`~byohpo.backends._job_events.EventWatch`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, MutableMapping
from dataclasses import dataclass

from byohpo.backends._job_events import (
    DEFAULT_SAFETY_NET_SECONDS,
    EVENT_GRACE_SECONDS,
    MAX_WAIT_SECONDS,
    RECEIVE_BATCH,
    EventWatch,
    check_safety_net,
    check_wait_seconds,
)
from byohpo.errors import UserError
from byohpo.simulator._account import SimulatedAccount
from byohpo.trial import JobState


@dataclass(frozen=True)
class EventDelivery:
    """How the simulated EventBridge delivers job events, and how the backend reads them.

    ``median_seconds`` and ``sigma``: the log-normal delay from a job's end to its event
    in the queue (EventBridge delivers within about a second, now and then several).
    ``loss``: the share of ends whose event never arrives (the safety net finds them).
    ``messages_per_job``: the state changes SageMaker publishes per job (Starting,
    Downloading, Training, Uploading, the end), each a message to receive and delete.
    ``wait_seconds`` and ``safety_net_seconds``: the backend's, as in
    :class:`~byohpo.backends._sagemaker.SageMakerBackend`.
    """

    median_seconds: float = 1.0
    sigma: float = 0.8
    loss: float = 0.0
    messages_per_job: int = 5
    wait_seconds: int = MAX_WAIT_SECONDS
    safety_net_seconds: float = DEFAULT_SAFETY_NET_SECONDS

    def __post_init__(self) -> None:
        if not (self.median_seconds > 0 and self.sigma >= 0 and 0 <= self.loss < 1):
            raise UserError(
                "event delivery needs median_seconds > 0, sigma >= 0 and 0 <= loss < 1",
                f"median_seconds={self.median_seconds!r}, sigma={self.sigma!r}, loss={self.loss!r}",
                "Give e.g. EventDelivery(median_seconds=1.0, sigma=0.8, loss=0.001).",
            )
        if self.messages_per_job < 1:
            raise UserError(
                "a job publishes at least one event (its end)",
                f"messages_per_job={self.messages_per_job!r}",
                "Give messages_per_job >= 1.",
            )
        check_wait_seconds(self.wait_seconds)
        check_safety_net(self.safety_net_seconds)


class SimulatedEvents:
    """One study's queue in the simulator, read as the SageMaker backend reads it."""

    def __init__(
        self, delivery: EventDelivery, account: SimulatedAccount, prefix: str, now: float
    ) -> None:
        self.delivery = delivery
        self.account = account
        self.watch = EventWatch(prefix, delivery.safety_net_seconds, now)
        self._arrivals: dict[tuple[str, float], float | None] = {}
        self._consumed: set[str] = set()

    def arrival(self, name: str) -> float | None:
        """When the job's end reaches the queue (None: never, or it has no end yet)."""
        job = self.account.jobs[name]
        key = (name, job.end)
        if key not in self._arrivals:
            rng = self.account.rng(name, job.trial_id, f"event at {job.end}")
            lost = rng.random() < self.delivery.loss
            delay = self.delivery.median_seconds * math.exp(rng.gauss(0.0, self.delivery.sigma))
            self._arrivals[key] = None if lost else job.end + delay
        return self._arrivals[key]

    def _arrived(self, names: Collection[str], now: float) -> list[str]:
        return [n for n in names if (at := self.arrival(n)) is not None and at <= now]

    def _receive(self, arrived: list[str]) -> None:
        """Count one drain of the queue that brings these jobs' events."""
        fresh = [n for n in arrived if n not in self._consumed]
        self._consumed.update(fresh)
        messages = len(fresh) * self.delivery.messages_per_job
        calls = self.account.api_calls
        calls["ReceiveMessage"] += max(1, math.ceil(messages / RECEIVE_BATCH))
        calls["DeleteMessageBatch"] += math.ceil(messages / RECEIVE_BATCH)

    def poll(
        self,
        pending: list[str],
        states: MutableMapping[str, JobState],
        final: MutableMapping[str, JobState],
        now: float,
    ) -> list[str]:
        """Describe the jobs whose end arrived; the others keep a running state. Returns the
        jobs to list anyway (all the others once the safety net is due, else none)."""
        if self.delivery.loss < 1 and not self.watch.heard:  # a job's first change, heard
            first = min(self.account.jobs[n].created for n in pending)
            self.watch.heard = now >= first + self.delivery.median_seconds
        arrived = self._arrived(pending, now)
        self._receive(arrived)
        savings = self.account.spot.savings
        for name in arrived:
            self.account.api_calls["DescribeTrainingJob"] += 1
            final[name] = states[name] = self.account.jobs[name].state(now, spot_savings=savings)
        rest = [n for n in pending if n not in states]
        if rest and self.watch.listing_due(now):
            return rest
        for name in rest:  # as the events tell it: running, even if it ended unheard of
            job = self.account.jobs[name]
            states[name] = job.summary(min(now, job.end - 0.001))
        return []

    def after_safety_net(
        self, listed: list[str], final: MutableMapping[str, JobState], now: float
    ) -> None:
        """The safety net listed these jobs: those it found ended with no event are missed."""
        late = now - EVENT_GRACE_SECONDS
        missed = [
            n
            for n in listed
            if n in final and self.account.jobs[n].end < late and n not in self._consumed
        ]
        self.watch.listed(now, missed)

    def wait(self, seconds: float, in_flight: Collection[str], now: float) -> float:
        """How long the backend waits before its next poll, counting its long polls: until
        the first end of a job in flight reaches the queue, at most ``seconds``."""
        wait = self.delivery.wait_seconds
        if not wait or seconds < 1:
            return seconds
        arrivals = [
            at for n in in_flight if n not in self._consumed and (at := self.arrival(n)) is not None
        ]
        upcoming = [at for at in arrivals if at > now]
        if any(at <= now for at in arrivals):
            waited = 0.0  # already there: the first long poll returns at once
        else:
            waited = min([seconds, *(at - now for at in upcoming)])
        self.account.api_calls["ReceiveMessage"] += max(1, math.ceil(waited / wait))
        return waited if waited < seconds else seconds
