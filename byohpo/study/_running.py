"""Running a study to its end: the loop built, a resumed study re-attached, the ending recorded.

However a run ends, it is recorded once: finished (a budget or the strategy ended it), stopped
(a mistake, or ``byohpo stop``), interrupted by Ctrl-C (its jobs stopped or kept, as the Tuner's
``on_interrupt`` says) or stopped by an error (its jobs kept, for a resume to collect).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from byohpo.errors import StudyStopped, UserError
from byohpo.study import _warm_start as warm
from byohpo.study._early_stopping import EarlyStopping
from byohpo.study._events import StudyFinished, StudyInterrupted
from byohpo.study._loop import StudyLoop

if TYPE_CHECKING:
    from byohpo.results import StudyResult
    from byohpo.study._sagemaker_tuning import SageMakerTuningRun
    from byohpo.study._store import StudyLog
    from byohpo.study._tuner import Tuner


def run_to_end(tuner: Tuner, log: StudyLog | None, started_at: float) -> StudyResult:
    """Run a study (``log``: as recorded, to resume it) to its end; its results."""
    from byohpo.results import StudyResult

    early = (
        EarlyStopping(plan, tuner.backend, tuner.store, tuner.clock, tuner.progress)
        if (plan := tuner.spec.early_stopping) is not None
        else None
    )
    loop: StudyLoop | SageMakerTuningRun
    if getattr(tuner.strategy, "runs_on_sagemaker", False):
        # SageMaker's own tuner launches the jobs; this run records them as trials
        from byohpo.study._sagemaker_tuning import SageMakerTuningRun

        loop = SageMakerTuningRun(
            tuner.spec,
            backend=tuner.backend,
            store=tuner.store,
            clock=tuner.clock,
            progress=tuner.progress,
            started_at=started_at,
        )
    else:
        loop = StudyLoop(
            tuner.spec,
            backend=tuner.backend,
            store=tuner.store,
            clock=tuner.clock,
            progress=tuner.progress,
            started_at=started_at,
            early_stopping=early,
        )
    if log is None:
        if isinstance(loop, StudyLoop):
            loop.checkpoint(always=True)  # the strategy as set up (and told of any warm start)
    else:
        if early is not None:  # before the strategy is replayed: it is told partial results
            early.adopt(log.stopping_events(), log.trials)
        live = {s.job_name: s for s in tuner.backend.list_study_jobs()}
        if isinstance(loop, StudyLoop):
            warm.tell_again(log, tuner.strategy)
        loop.adopt(log, live)
        tuner.progress.say(
            f"resumed: {len(loop.trials)} trials on record, "
            f"{len(loop.in_flight)} jobs re-attached, "
            f"{len(loop.unlaunched)} to launch"
        )
    reason: str | None = None
    raised = False  # the error then says why the study stopped, once
    try:
        reason = loop.run()
    except KeyboardInterrupt:
        reason = _interrupted(tuner, loop)
    except StudyStopped as exc:
        reason, raised = str(exc), True
        raise
    except UserError as exc:
        reason, raised = f"stopped: {exc}", True
        loop.stop_all()
        raise
    except BaseException as exc:
        running = len(loop.in_flight)
        tuner.store.record(
            StudyInterrupted(
                f"{type(exc).__name__}: {exc}",
                "kept",
                running,
                tuple(sorted(loop.in_flight.values())),
                time=tuner.clock.now(),
            )
        )
        tuner.progress.say(
            f"stopped by an error; {running} jobs keep running. "
            f"Resume with: byohpo resume {tuner.study_name}"
        )
        raise
    finally:
        tuner.backend.close()
        if reason is not None:
            tuner.stop_reason = reason
            if reason != "interrupted":
                tuner.store.record(StudyFinished(reason, time=tuner.clock.now()))
                if raised:
                    tuner.progress.say("stopped early: the reason follows")
                else:
                    tuner.progress.say(f"finished: {reason}")
    return StudyResult(tuner.store.load())


def _interrupted(tuner: Tuner, loop: StudyLoop | SageMakerTuningRun) -> str:
    """Answer Ctrl-C: stop the jobs in flight or keep them, and record which."""
    running = len(loop.in_flight)
    choice = tuner.on_interrupt
    if choice == "ask":
        choice = "keep"
        if running and sys.stdin is not None and sys.stdin.isatty():
            try:
                answer = input(f"\nStop the {running} jobs in flight? [y/N] ")
            except (EOFError, KeyboardInterrupt):
                answer = ""
            choice = "stop" if answer.strip().lower() in ("y", "yes") else "keep"
    if choice == "stop":
        loop.stop_all()
    tuner.store.record(
        StudyInterrupted(
            "Ctrl-C",
            "stopped" if choice == "stop" else "kept",
            running,
            tuple(sorted(loop.in_flight.values())),
            time=tuner.clock.now(),
        )
    )
    if choice == "stop":
        tuner.progress.say(f"interrupted: asked SageMaker to stop the {running} jobs in flight")
    else:
        tuner.progress.say(
            f"interrupted: {running} jobs keep running; "
            f"collect them with: byohpo resume {tuner.study_name}"
        )
    return "interrupted"
