"""Scheduling and launching: ask the strategy for work, record it, create the jobs.

The study loop's collaborator for launching (:class:`Launcher`). Every trial is recorded
(as asked) before its job is created, and a parent's checkpoint is copied and the copy
recorded before the job that starts from it is created. When SageMaker has no capacity,
fewer jobs are launched at once for a while, then one more each time a launch succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byohpo.backends._base import CopiesCheckpoints, capability_error
from byohpo.errors import CapacityError
from byohpo.strategies._suggestion import generation_of
from byohpo.study._early_stopping import PROMOTED
from byohpo.study._events import CheckpointCopied, JobSubmitted, LaunchLimited, TrialsAsked
from byohpo.study._failures import retryable
from byohpo.study._state import TrialRecord
from byohpo.trial import JobState, LaunchRequest, Mode

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.backends._base import Backend
    from byohpo.space import Config
    from byohpo.study._bookkeeping import Bookkeeping
    from byohpo.study._progress import Progress
    from byohpo.study._specification import StudySpecification


class Launcher:
    """Asks the strategy for configurations, records them as trials, creates their jobs."""

    def __init__(
        self,
        spec: StudySpecification,
        book: Bookkeeping,
        *,
        backend: Backend,
        clock: Clock,
        progress: Progress,
        promotes: bool = False,
    ) -> None:
        self.spec = spec
        self.strategy = spec.strategy
        self.book = book
        self.backend = backend
        self.clock = clock
        self.progress = progress
        self._copied: dict[int, str] = {}  # trial id -> where its parent's checkpoint was copied
        self._check_warm_starts(promotes)

    # -- launching --------------------------------------------------------------------------
    def launch(self) -> None:
        """Create the recorded jobs there are slots for, then ask for more while slots last."""
        book, budget = self.book, self.spec.budget
        self.launch_recorded()
        batches = not hasattr(self.strategy, "generation")
        whole_generations = self.spec.mode is Mode.GENERATIONAL and self.strategy.supports_async
        for _ in range(10 * budget.max_parallel_jobs + 100):  # duplicates are free: bound them
            if book.free_slots() <= 0 or book.unlaunched or book.stop_reason is not None:
                return
            remaining = budget.max_jobs - book.jobs
            if remaining <= 0 or book.converged():
                return
            if whole_generations and (book.in_flight or book.waiting):
                return  # an async-capable strategy run generationally: wait for the generation
            n = min(book.free_slots(), remaining)
            configs = self.strategy.ask(n)[:n]
            if not configs:
                book.batch_closed = True
                return
            stated = [g for g in map(generation_of, configs) if g is not None]
            if stated:
                book.generation = max(book.generation, *stated)
            elif batches:
                if book.batch_closed and self.spec.mode is Mode.GENERATIONAL:
                    book.generation += 1
                book.batch_closed = whole_generations
            else:
                book.generation = int(self.strategy.generation)  # type: ignore[attr-defined]
            self._plan(configs, n)
            self.launch_recorded()

    def _plan(self, configs: list[Config], asked: int) -> None:
        """Record the strategy's proposals as trials (before any job), then line them up."""
        book, space = self.book, self.spec.space
        new_trials: list[TrialRecord] = []
        batch: dict[str, int] = {}  # the same job twice in one batch: the second is a duplicate
        for config in configs:
            space.validate(config)
            parent = book.lineage.checked_parent(config)
            key = book.lineage.job_key(space.hyperparameters(config), parent)
            generation = generation_of(config)
            if generation is None and parent is not None:
                generation = book.trials[parent].generation + 1
            tid = len(book.trials) + len(new_trials)
            new_trials.append(
                self.new_trial(
                    tid,
                    config,
                    self._generation_of_next(len(new_trials)) if generation is None else generation,
                    duplicate_of=book.lineage.known.get(key, batch.get(key)),
                    parent_id=parent,
                )
            )
            batch.setdefault(key, tid)
        book.write(
            TrialsAsked(tuple(t.spec() for t in new_trials), asked=asked, time=self.clock.now())
        )
        for t in new_trials:
            book.index(book.trials[t.trial_id])
        for t in new_trials:
            if t.duplicate_of is None:
                book.unlaunched.append(t.trial_id)
            else:
                book.wait_or_answer(t.trial_id, t.duplicate_of)

    def _generation_of_next(self, planned: int = 0) -> int:
        """The generation of the next trial, ``planned`` trials into a batch not indexed yet."""
        book = self.book
        if self.spec.mode is Mode.ASYNC and not hasattr(self.strategy, "generation"):
            return (book.jobs + book.duplicates + planned) // self.spec.budget.max_parallel_jobs
        return book.generation

    def new_trial(
        self,
        tid: int,
        config: Config,
        generation: int,
        *,
        duplicate_of: int | None = None,
        retry_of: int | None = None,
        parent_id: int | None = None,
    ) -> TrialRecord:
        """A trial of ``config`` (not recorded yet), with the job name it will run under."""
        return TrialRecord(
            trial_id=tid,
            config=dict(config),
            hyperparameters=self.spec.space.hyperparameters(config),
            generation=generation,
            job_name=None if duplicate_of is not None else self.backend.job_name(tid),
            parent_id=parent_id,
            duplicate_of=duplicate_of,
            retry_of=retry_of,
            instance_type=self.spec.job.instance_type,
            instance_count=self.spec.job.instance_count,
        )

    def worth_retrying(self, tid: int, state: JobState) -> bool:
        """Whether a failed job is tried again: SageMaker marks the failure as its own, the
        study goes on, retries are left, and (but for a promotion) so are jobs."""
        book = self.book
        if book.stop_reason is not None or not retryable(state.status, state.failure_reason):
            return False
        if book.lineage.retries[book.lineage.origin(tid)] >= self.spec.budget.max_retries:
            return False
        if PROMOTED in book.trials[tid].extra:
            return True  # a promotion continues a configuration: max_jobs does not count it
        return book.jobs < self.spec.budget.max_jobs

    def retry(self, tid: int) -> TrialRecord:
        """Record a retry of the failed trial ``tid`` (same configuration, same parent, and
        for a promotion the same promotion: it starts again from the same checkpoint)."""
        book = self.book
        origin = book.trials[tid]
        new = self.new_trial(
            len(book.trials),
            origin.config,
            origin.generation,
            retry_of=tid,
            parent_id=origin.parent_id,
        )
        promoted = origin.extra.get(PROMOTED)
        if isinstance(promoted, dict):
            new.extra[PROMOTED] = dict(promoted)
        book.write(TrialsAsked((new.spec(),), asked=None, time=self.clock.now()))
        book.index(book.trials[new.trial_id])
        book.unlaunched.append(new.trial_id)
        return book.trials[new.trial_id]

    def launch_recorded(self) -> None:
        """Create the jobs of the recorded trials, in order, as far as slots go."""
        book = self.book
        while book.unlaunched and book.free_slots() > 0:
            tid = book.unlaunched[0]
            record = book.trials[tid]
            checkpoint = self._copy_parent_checkpoint(record)
            try:
                job_name = self.backend.submit(
                    LaunchRequest(tid, record.hyperparameters, checkpoint_s3_uri=checkpoint)
                )
            except CapacityError as exc:
                book.launch_limit = max(1, len(book.in_flight))
                book.write(LaunchLimited(book.launch_limit, str(exc), time=self.clock.now()))
                self.progress.say(
                    f"SageMaker has no capacity for another {self.spec.job.instance_type} "
                    f"({exc}); launching at most {book.launch_limit} at once for now and retrying"
                )
                return
            book.unlaunched.pop(0)
            book.in_flight[tid] = job_name
            book.write(JobSubmitted(tid, job_name, time=self.clock.now()))
            if (
                book.launch_limit < self.spec.budget.max_parallel_jobs
                and len(book.in_flight) >= book.launch_limit
            ):
                book.launch_limit += 1  # capacity came back for this one: try one more next time

    # -- warm starts -------------------------------------------------------------------------
    def _check_warm_starts(self, promotes: bool) -> None:
        """Refuse, before any job, a study whose jobs start from checkpoints on a backend that
        cannot copy them: a strategy that warm-starts (PBT), or ASHA's promotion form."""
        if (self.strategy.warm_starts or promotes) and not isinstance(
            self.backend, CopiesCheckpoints
        ):
            raise self._cannot_copy_checkpoints(promotes)

    def _cannot_copy_checkpoints(self, promotes: bool = False) -> Exception:
        if promotes:
            needed_for = "ASHA's promotion form (promote = true) continues a paused job"
            fix = "Drop promote to stop jobs for good"
        else:
            needed_for = f"the {self.strategy.name!r} strategy starts jobs"
            fix = "Use a strategy that starts every job afresh"
        return capability_error(
            self.backend,
            CopiesCheckpoints,
            f"{needed_for} from another job's checkpoint",
            fix,
        )

    def _copy_parent_checkpoint(self, record: TrialRecord) -> str | None:
        """Copy the parent's last checkpoint to the trial's own location; None without a parent.

        Copying again after a crash is harmless: the job was not created yet
        (a created job is re-attached, never launched again), and the copy is
        verified complete each time before the job starts.
        """
        if record.parent_id is None or record.job_name is None:
            return None
        if record.trial_id in self._copied:  # copied, then SageMaker had no capacity
            return self._copied[record.trial_id]
        source = self.book.lineage.checkpoint_source(record.parent_id)
        assert source.job_name is not None
        backend = self.backend
        if not isinstance(backend, CopiesCheckpoints):  # checked when the loop was made
            raise self._cannot_copy_checkpoints()
        copy = backend.copy_checkpoint(source.job_name, record.job_name)
        self.book.write(
            CheckpointCopied(
                record.trial_id,
                record.parent_id,
                copy.source_job,
                copy.source_uri,
                copy.target_uri,
                len(copy.keys),
                time=self.clock.now(),
            )
        )
        self._copied[record.trial_id] = copy.target_uri
        return copy.target_uri
