"""The job runner: which job runs when.

A job waits in ``Starting`` for its start-up delay (shorter on a warm pool, longer if a
fault slows it) and for a free slot: at most ``max_concurrent_jobs`` scripts run at once on
this machine. Each running job is carried out on its own thread (see
:mod:`byohpo.fake._execution`). :meth:`JobRunner.shutdown` kills every script and joins every
thread, so nothing is left running.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from botocore.client import BaseClient

from byohpo.fake._execution import ExecutionSettings, JobExecution
from byohpo.fake._training_jobs import JobStore, SecondaryStatus, StopCause, TrainingJobRecord
from byohpo.fake._transfer import S3Transfer

logger = logging.getLogger(__name__)

_MAX_IDLE_WAIT = 0.5
"""Seconds the dispatcher sleeps at most, to notice spot jobs running out of wait time."""
_JOIN_SECONDS = 30.0


@dataclass
class _Pending:
    record: TrainingJobRecord
    ready_at: float
    """``time.monotonic()`` when its instances are "provisioned"."""


class JobRunner:
    """Starts jobs when their turn comes and carries each out. Thread-safe.

    All state is guarded by the job store's lock, and every change is announced on the
    store's condition, which is what the dispatcher waits on.
    """

    def __init__(
        self,
        store: JobStore,
        settings: ExecutionSettings,
        transfer: S3Transfer,
        metrics_client: BaseClient | None,
        *,
        max_concurrent_jobs: int,
        startup_seconds: float,
        warm_startup_seconds: float,
    ) -> None:
        self._store = store
        self._settings = settings
        self._transfer = transfer
        self._metrics_client = metrics_client
        self._limit = max(1, max_concurrent_jobs)
        self._startup_seconds = startup_seconds
        self._warm_startup_seconds = warm_startup_seconds
        self._pending: list[_Pending] = []
        self._running: dict[str, JobExecution] = {}
        self._threads: list[threading.Thread] = []
        self._closing = False
        self._dispatcher: threading.Thread | None = None

    def start(self) -> None:
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="byohpo-fake-dispatcher", daemon=True
        )
        self._dispatcher.start()

    def submit(self, record: TrainingJobRecord) -> None:
        """Queue a new job (it is ``Starting``)."""
        delay = self._warm_startup_seconds if record.warm_start else self._startup_seconds
        delay += record.fate.extra_start_seconds
        with self._store.lock:
            if self._closing:
                return
            self._pending.append(_Pending(record, time.monotonic() + delay))
            self._store.changed.notify_all()

    @property
    def running_jobs(self) -> list[str]:
        with self._store.lock:
            return list(self._running)

    def _dispatch(self) -> None:
        store = self._store
        with store.lock:
            while not self._closing:
                self._settle_pending()
                now = time.monotonic()
                while len(self._running) < self._limit:
                    ready = next((p for p in self._pending if p.ready_at <= now), None)
                    if ready is None:
                        break
                    self._pending.remove(ready)
                    self._launch(ready.record)
                waits = [p.ready_at - now for p in self._pending if p.ready_at > now]
                timeout = min([*waits, _MAX_IDLE_WAIT]) if self._pending else None
                store.changed.wait(timeout)

    def _settle_pending(self) -> None:
        """End queued jobs that were stopped, or (spot) ran out of wait time, before starting."""
        now = time.time()
        for pending in list(self._pending):
            record = pending.record
            max_wait = record.stopping_condition.get("MaxWaitTimeInSeconds")
            if record.stop_cause is None and max_wait and now - record.creation_time >= max_wait:
                record.stop_cause = StopCause.MAX_WAIT
                record.enter(SecondaryStatus.STOPPING, now)
            if record.stop_cause is not None:
                self._pending.remove(pending)
                record.finish(record.stop_cause.final_status, now)
                self._store.changed.notify_all()

    def _launch(self, record: TrainingJobRecord) -> None:
        execution = JobExecution(
            record, self._store, self._settings, self._transfer, self._metrics_client
        )
        self._running[record.name] = execution
        thread = threading.Thread(
            target=self._work, args=(execution,), name=f"byohpo-fake-job-{record.name}"
        )
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _work(self, execution: JobExecution) -> None:
        record = execution.record
        try:
            execution.run()
        except Exception as exc:  # a fault of the fake must not leave a job InProgress forever
            logger.exception("The fake SageMaker failed while running %s", record.name)
            reason = f"InternalServerError: the fake SageMaker failed: {exc}"

            def fail(record: TrainingJobRecord) -> None:
                if not record.status.is_terminal:
                    record.finish(SecondaryStatus.FAILED, time.time(), reason)

            self._store.update(record, fail)
        finally:
            with self._store.lock:
                self._running.pop(record.name, None)
                self._store.changed.notify_all()

    def shutdown(self) -> None:
        """Kill every running script, drop queued jobs, join every thread. Idempotent."""
        with self._store.lock:
            self._closing = True
            self._pending.clear()
            executions = list(self._running.values())
            self._store.changed.notify_all()
        for execution in executions:
            execution.abort()
        if self._dispatcher is not None:
            self._dispatcher.join(_JOIN_SECONDS)
        for thread in list(self._threads):
            thread.join(_JOIN_SECONDS)
            if thread.is_alive():
                logger.error("A job thread of the fake SageMaker did not end: %s", thread.name)
