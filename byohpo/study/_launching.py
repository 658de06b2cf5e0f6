"""Scheduling and launching: ask the strategy for work, record it, create the jobs.

Part of :class:`~byohpo.study._loop.StudyLoop`. Every trial is recorded (as asked)
before its job is created, and a parent's checkpoint is copied and the copy recorded
before the job that starts from it is created. When SageMaker has no capacity, fewer
jobs are launched at once for a while, then one more each time a launch succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byohpo.backends._base import CopiesCheckpoints, capability_error
from byohpo.errors import CapacityError
from byohpo.strategies._suggestion import generation_of
from byohpo.study._events import CheckpointCopied, Event, JobSubmitted, LaunchLimited, TrialsAsked
from byohpo.study._lineage import Lineage
from byohpo.study._progress import Progress
from byohpo.study._state import TrialRecord
from byohpo.trial import LaunchRequest, Mode

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.backends._base import Backend
    from byohpo.space import Config, SearchSpace
    from byohpo.strategies._base import Strategy
    from byohpo.study._accounting import Budget


class Launcher:
    """The launching half of the study loop (its state lives on the loop)."""

    space: SearchSpace
    strategy: Strategy
    backend: Backend
    budget: Budget
    mode: Mode
    clock: Clock
    progress: Progress
    instance_type: str | None
    instance_count: int
    trials: dict[int, TrialRecord]
    lineage: Lineage
    in_flight: dict[int, str]
    waiting: dict[int, int]
    unlaunched: list[int]
    launch_limit: int
    generation: int
    stop_reason: str | None
    _batch_closed: bool
    _jobs: int
    _duplicates: int
    _copied: dict[int, str]

    if TYPE_CHECKING:

        def _write(self, *events: Event) -> None: ...

        def _index(self, t: TrialRecord) -> None: ...

        def _answer_duplicate(self, dup: int, original: int) -> None: ...

    # -- launching --------------------------------------------------------------------------
    def _free_slots(self) -> int:
        return min(self.budget.max_parallel_jobs, self.launch_limit) - len(self.in_flight)

    def _launch(self) -> None:
        self._launch_unlaunched()
        batches = not hasattr(self.strategy, "generation")
        whole_generations = self.mode is Mode.GENERATIONAL and self.strategy.supports_async
        for _ in range(10 * self.budget.max_parallel_jobs + 100):  # duplicates are free: bound them
            if self._free_slots() <= 0 or self.unlaunched or self.stop_reason is not None:
                return
            remaining = self.budget.max_jobs - self._jobs
            if remaining <= 0 or self._duplicates >= max(10 * self.budget.max_jobs, 100):
                return
            if whole_generations and (self.in_flight or self.waiting):
                return  # an async-capable strategy run generationally: wait for the generation
            n = min(self._free_slots(), remaining)
            configs = self.strategy.ask(n)[:n]
            if not configs:
                self._batch_closed = True
                return
            stated = [g for g in map(generation_of, configs) if g is not None]
            if stated:
                self.generation = max(self.generation, *stated)
            elif batches:
                if self._batch_closed and self.mode is Mode.GENERATIONAL:
                    self.generation += 1
                self._batch_closed = whole_generations
            else:
                self.generation = int(self.strategy.generation)  # type: ignore[attr-defined]
            self._plan(configs, n)
            self._launch_unlaunched()

    def _plan(self, configs: list[Config], asked: int) -> None:
        """Record the strategy's proposals as trials (before any job), then line them up."""
        new_trials: list[TrialRecord] = []
        batch: dict[str, int] = {}  # the same job twice in one batch: the second is a duplicate
        for config in configs:
            self.space.validate(config)
            parent = self.lineage.checked_parent(config)
            key = self.lineage.job_key(self.space.hyperparameters(config), parent)
            generation = generation_of(config)
            if generation is None and parent is not None:
                generation = self.trials[parent].generation + 1
            tid = len(self.trials) + len(new_trials)
            new_trials.append(
                self._new_trial(
                    tid,
                    config,
                    self._generation_of_next(len(new_trials)) if generation is None else generation,
                    duplicate_of=self.lineage.known.get(key, batch.get(key)),
                    parent_id=parent,
                )
            )
            batch.setdefault(key, tid)
        self._write(
            TrialsAsked(tuple(t.spec() for t in new_trials), asked=asked, time=self.clock.now())
        )
        for t in new_trials:
            self._index(self.trials[t.trial_id])
        for t in new_trials:
            if t.duplicate_of is None:
                self.unlaunched.append(t.trial_id)
                continue
            original = self.lineage.latest_retry(t.duplicate_of)
            if self.trials[original].has_result:
                self._answer_duplicate(t.trial_id, original)
            else:
                self.waiting[t.trial_id] = original

    def _generation_of_next(self, planned: int = 0) -> int:
        """The generation of the next trial, ``planned`` trials into a batch not indexed yet."""
        if self.mode is Mode.ASYNC and not hasattr(self.strategy, "generation"):
            return (self._jobs + self._duplicates + planned) // self.budget.max_parallel_jobs
        return self.generation

    def _new_trial(
        self,
        tid: int,
        config: Config,
        generation: int,
        *,
        duplicate_of: int | None = None,
        retry_of: int | None = None,
        parent_id: int | None = None,
    ) -> TrialRecord:
        return TrialRecord(
            trial_id=tid,
            config=dict(config),
            hyperparameters=self.space.hyperparameters(config),
            generation=generation,
            job_name=None if duplicate_of is not None else self.backend.job_name(tid),
            parent_id=parent_id,
            duplicate_of=duplicate_of,
            retry_of=retry_of,
            instance_type=self.instance_type,
            instance_count=self.instance_count,
        )

    def _launch_unlaunched(self) -> None:
        while self.unlaunched and self._free_slots() > 0:
            tid = self.unlaunched[0]
            record = self.trials[tid]
            checkpoint = self._copy_parent_checkpoint(record)
            try:
                job_name = self.backend.submit(
                    LaunchRequest(tid, record.hyperparameters, checkpoint_s3_uri=checkpoint)
                )
            except CapacityError as exc:
                self.launch_limit = max(1, len(self.in_flight))
                self._write(LaunchLimited(self.launch_limit, str(exc), time=self.clock.now()))
                self.progress.say(
                    f"SageMaker has no capacity for another {self.instance_type} ({exc}); "
                    f"launching at most {self.launch_limit} at once for now and retrying"
                )
                return
            self.unlaunched.pop(0)
            self.in_flight[tid] = job_name
            self._write(JobSubmitted(tid, job_name, time=self.clock.now()))
            if (
                self.launch_limit < self.budget.max_parallel_jobs
                and len(self.in_flight) >= self.launch_limit
            ):
                self.launch_limit += 1  # capacity came back for this one: try one more next time

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
        source = self.lineage.checkpoint_source(record.parent_id)
        assert source.job_name is not None
        backend = self.backend
        if not isinstance(backend, CopiesCheckpoints):  # checked when the loop was made
            raise self._cannot_copy_checkpoints()
        copy = backend.copy_checkpoint(source.job_name, record.job_name)
        self._write(
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
