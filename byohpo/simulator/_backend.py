"""The simulator's backend: SageMaker as the tuner sees it, in virtual time."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from byohpo._clock import VIRTUAL_EPOCH, VirtualClock
from byohpo._pricing import price_per_hour
from byohpo.backends._base import Backend, study_prefix
from byohpo.backends._rates import SAGEMAKER_RATES, UNPACED, Rate, RequestPacer, RequestRates
from byohpo.backends._request import merged_hyperparameters
from byohpo.backends._retry import RetryingCaller, RetryPolicy
from byohpo.errors import NoStudyOpenError, UserError
from byohpo.simulator._account import SimulatedAccount
from byohpo.simulator._curves import CurveFn, CurveProblem, EpochsFn
from byohpo.simulator._events import EventDelivery, SimulatedEvents
from byohpo.simulator._jobs import SimulatedJob
from byohpo.simulator._latency import SpotMarket, StartupModel
from byohpo.simulator._limits import AccountLimits
from byohpo.simulator._problems import (
    DurationFn,
    FunctionProblem,
    MetricsFn,
    Problem,
)
from byohpo.simulator._study_jobs import StudyJobs
from byohpo.simulator._usage import Usage
from byohpo.trial import CheckpointCopy, JobPlace, JobState, LaunchRequest

if TYPE_CHECKING:
    from byohpo.job import TrainingJob


class Simulator(Backend):
    """A backend whose jobs run in virtual time: a study of thousands of jobs in seconds.

    With ``epochs`` (a number, or a function of the hyperparameters),
    ``problem`` is a learning curve ``curve(hyperparameters, epoch)`` giving
    the metrics printed after each epoch, and ``duration`` the whole job's
    training time (see :class:`~byohpo.simulator._curves.CurveProblem`); a
    job stopped early is billed up to its stop plus ``startup.stop_seconds``.

    Each job's metrics and training time come from ``problem``: a
    :class:`~byohpo.simulator.Problem` (such as a
    :class:`~byohpo.simulator.TableProblem` of real runs), or simply a
    function from the hyperparameters (decoded as the training script would
    receive them) to the final metrics, with ``duration`` (median training
    seconds, or a function of the hyperparameters) and ``duration_sigma``
    (log-normal spread). Around the training, ``startup`` plays SageMaker's
    start-up (about two minutes cold, about 20 seconds on a warm pool when
    the job template has ``keep_alive_seconds`` > 0 and a warm instance is
    free), and ``spot`` plays managed spot for templates with
    ``use_spot=True`` (discounted billing, optional interruptions).

    Time is the backend's :attr:`clock`, a :class:`~byohpo._clock.VirtualClock`:
    the tuner's ``sleep`` between polls moves it forward at once. The tuner,
    the strategies and the store run unchanged; only the clock is virtual.
    Jobs report what the SageMaker backend reports: a summary while they run,
    and once ended the final metrics (only those the template's
    ``metric_definitions`` name), failure reason and billable seconds.

    :attr:`api_calls` counts the requests the SageMaker backend would send
    for the same study (CreateTrainingJob, ListTrainingJobs pages,
    DescribeTrainingJob, StopTrainingJob, GetLogEvents), throttled ones
    included, and :attr:`throttled_calls` those the account throttled.
    Requests are paced as the SageMaker backend paces them (a
    :class:`~byohpo.backends._rates.RequestPacer` at ``rates``, in virtual
    time; ``list_calls_per_second`` as there) and retried when throttled.
    ``limits`` (:class:`~byohpo.simulator._limits.AccountLimits`) is the
    account's side: throttling at SageMaker's rates, API latency, and
    per-instance-type quotas (``ResourceLimitExceeded``, raised as
    :class:`~byohpo.errors.CapacityError`); a stopped job is ``Stopping``
    for ``startup.stop_seconds``. :meth:`usage` totals wall-clock, instance
    time, cost, slot use and requests.

    ``seed`` fixes every random draw (durations, start-ups, interruptions,
    the problem's own): the same study with the same seeds gives the same
    timeline. ``None`` draws a seed (kept as :attr:`seed`).

    :meth:`copy_checkpoint` warm-starts a job from a completed one's
    checkpoint (population based training) or a stopped one's (ASHA's
    promotion form), and :meth:`reattach` gives
    another backend on the same simulated account (a resume after a crash).
    ``events`` (an :class:`~byohpo.simulator._events.EventDelivery`) plays status by
    events, as the SageMaker backend with an ``events_queue``: job ends come from a
    simulated EventBridge queue (delay, loss), SageMaker is listed only as a safety net,
    and the SQS requests show in :attr:`api_calls` too.
    Not simulated: the data a job reads or writes, and capacity shortages
    other than quotas.
    """

    jobs_run_in = JobPlace.VIRTUAL

    def __init__(
        self,
        problem: Problem | MetricsFn | CurveFn,
        *,
        epochs: int | EpochsFn | None = None,
        duration: float | DurationFn | None = None,
        duration_sigma: float | None = None,
        startup: StartupModel | None = None,
        spot: SpotMarket | None = None,
        seed: int | None = None,
        start_time: float = VIRTUAL_EPOCH,
        region: str = "us-east-1",
        min_poll_interval: float = 5.0,
        list_calls_per_second: float | None = 2.0,
        limits: AccountLimits | None = None,
        rates: RequestRates = SAGEMAKER_RATES,
        retry: RetryPolicy | None = None,
        events: EventDelivery | None = None,
    ) -> None:
        if isinstance(problem, Problem):
            if duration is not None or duration_sigma is not None or epochs is not None:
                raise UserError(
                    "duration and duration_sigma apply to a metrics function; "
                    "a Problem gives each job's duration itself",
                    f"a {type(problem).__name__} with duration={duration!r}, "
                    f"duration_sigma={duration_sigma!r}",
                    "Drop them, or set the duration in the problem.",
                )
        elif callable(problem) and epochs is not None:
            problem = CurveProblem(
                problem,  # type: ignore[arg-type]  # with epochs, it is curve(hp, epoch)
                epochs=epochs,
                duration=600.0 if duration is None else duration,
                duration_sigma=duration_sigma or 0.0,
            )
        elif callable(problem):
            problem = FunctionProblem(
                problem,  # type: ignore[arg-type]  # without epochs, it is metrics(hp)
                duration=600.0 if duration is None else duration,
                duration_sigma=duration_sigma or 0.0,
            )
        else:
            raise UserError(
                "a Simulator needs a Problem, or a function from hyperparameters to metrics",
                repr(problem),
                "Pass e.g. lambda hp: {'validation:accuracy': 0.9}.",
            )
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
        account = SimulatedAccount(
            problem,
            clock=VirtualClock(start_time),
            startup=startup or StartupModel(),
            spot=spot or SpotMarket(),
            seed=seed,
            limits=limits,
        )
        if list_calls_per_second is None:
            rates = UNPACED
        elif list_calls_per_second != 2.0:
            rates = rates.replace("ListTrainingJobs", Rate(list_calls_per_second, 1.0))
        self.events = events
        """How job events reach the study's queue (None: polling only)."""
        self._attach(account, region, min_poll_interval, rates, retry or RetryPolicy())

    def _attach(
        self,
        account: SimulatedAccount,
        region: str,
        min_poll_interval: float,
        rates: RequestRates,
        retry: RetryPolicy,
    ) -> None:
        self.account = account
        """The simulated account: jobs, warm pools, checkpoints, calls (shared by reattach)."""
        self.seed = account.seed
        self.region = region
        self.min_poll_interval = min_poll_interval
        self.rates = rates
        self._retry = retry
        self.clock: VirtualClock = account.clock
        self.pacer = RequestPacer(rates, self.clock)
        """This backend's request pacer, in virtual time."""
        self._call = RetryingCaller(
            policy=retry,
            clock=self.clock,
            rng=random.Random(f"{account.seed}/retry"),
            pacer=self.pacer,
        )
        self.poll_pages: Counter[int] = Counter()
        """How many polls needed how many ListTrainingJobs pages (pages -> polls)."""
        self._study: str | None = None
        self._jobs: StudyJobs | None = None
        """The open study's job table (None until :meth:`open`)."""

    def reattach(self) -> Simulator:
        """Another backend on the same simulated account, as a new process after a crash.

        It knows nothing of the jobs until it lists or polls them; open it
        (the tuner does) before use.
        """
        other = Simulator.__new__(Simulator)
        other.events = self.events
        other._attach(self.account, self.region, self.min_poll_interval, self.rates, self._retry)
        return other

    # -- what benchmarks and users read -------------------------------------------------------
    @property
    def api_calls(self) -> Counter[str]:
        """Requests the SageMaker backend would have sent, per operation (account-wide),
        throttled ones included."""
        return self.account.api_calls

    @property
    def throttled_calls(self) -> Counter[str]:
        """Requests the account answered with ``ThrottlingException``, per operation."""
        return self.account.throttled_calls

    def jobs(self) -> list[SimulatedJob]:
        """The open study's jobs, oldest first, with their whole timelines."""
        listed, _ = self.account.listing("" if self._jobs is None else self._jobs.prefix)
        return [self.account.jobs[name] for name in listed]

    def usage(self, prices: Mapping[str, float] | None = None) -> Usage:
        """Wall-clock, instance time, cost and slot use of the open study's jobs so far.

        ``prices`` (instance type -> dollars an hour) overrides the shipped
        on-demand prices, as the tuner's ``prices=`` does.
        """
        template = self._open_jobs().template
        return Usage.of(
            self.jobs(),
            self.clock.now(),
            spot_savings=self.account.spot.savings,
            price_per_hour=price_per_hour(template.instance_type, self.region, prices),
            api_calls=sum(self.account.api_calls.values()),
            throttled_calls=sum(self.account.throttled_calls.values()),
        )

    def checkpoint(self, uri: str) -> Any:
        """The state a job starting now would find at a checkpoint location (None: empty)."""
        return self.account.checkpoint(uri)

    def put_checkpoint(self, uri: str, state: Any) -> None:
        """Leave ``state`` at a checkpoint location (as an S3 copy of another job's would)."""
        self.account.put_checkpoint(uri, state)

    # -- the backend ----------------------------------------------------------------------------
    def open(self, study_name: str, job: TrainingJob) -> None:
        self._study = study_name
        prefix = study_prefix(study_name, self.study_id)
        merged_hyperparameters(job, {}, {}, self.job_name(0))  # more than SageMaker takes?
        self.account.listing(prefix)
        events = None
        if self.events is not None:  # -- status by events (simulator/events.py) --
            events = SimulatedEvents(self.events, self.account, prefix, self.clock.now())
        self._jobs = StudyJobs(
            self.account,
            job,
            prefix,
            request=self._request,
            poll_pages=self.poll_pages,
            events=events,
        )

    def _open_jobs(self) -> StudyJobs:
        if self._jobs is None:
            raise NoStudyOpenError()
        return self._jobs

    def _request(self, operation: str) -> None:
        """One request to the account, paced and retried as the SageMaker backend's are."""
        self._call(operation, lambda: self.account.request(operation))

    def submit(self, request: LaunchRequest) -> str:
        return self._open_jobs().submit(self.job_name(request.trial_id), request)

    def poll(self, job_names: Collection[str]) -> list[JobState]:
        """One ListTrainingJobs round of the study's running jobs, plus one
        DescribeTrainingJob for each job no longer running (once for a job that ended),
        as the SageMaker backend."""
        return self._open_jobs().poll(job_names)

    def wait_for_change(self, seconds: float) -> None:
        """Sleep ``seconds`` of virtual time; with events, only until a job's end arrives."""
        if self._jobs is not None:
            seconds = self._jobs.waiting_time(seconds)
        self.clock.sleep(seconds)

    def event_arrival(self, job_name: str) -> float | None:
        """When the job's end reached the study's queue (None: no events, lost, or running)."""
        return None if self._jobs is None else self._jobs.event_arrival(job_name)

    def stop(self, job_name: str) -> None:
        """Ask the job to stop: it is ``Stopping`` for a while, then ``Stopped``."""
        self._open_jobs().stop(job_name)

    def list_study_jobs(self) -> list[JobState]:
        return self._open_jobs().list_all()

    def copy_checkpoint(self, source_job: str, target_job: str) -> CheckpointCopy:
        """Copy the checkpoint a completed or stopped job left to where ``target_job`` starts.

        The target's location is ``<checkpoint_s3_uri>/<target job>``, as the
        SageMaker backend names it; the problem's next job there finds the
        state in :attr:`JobContext.checkpoint`. Copying again is harmless.
        """
        return self._open_jobs().copy_checkpoint(source_job, target_job)

    def read_curves(self, job_name: str) -> Mapping[str, list[tuple[float, float]]]:
        """Every metric point logged so far, as ``(seconds since training start, value)``."""
        return self._open_jobs().read_curves(job_name)
