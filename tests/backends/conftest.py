"""The backends the contract suite runs against, each behind one ``harness`` fixture.

A harness opens a study with a small training script whose behaviour the
hyperparameters choose: ``acc`` (the accuracy it reports, on three lines
``epoch <i> acc=<value>``), ``seconds`` (how long it trains), ``outcome``
(``"fail"``: it exits with ``boom`` on stderr). A backend that does not run
scripts (the simulator) follows the same convention.
"""

from __future__ import annotations

import textwrap
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from byohpo.backends._base import Backend
from byohpo.backends._retry import RetryPolicy
from byohpo.backends._sagemaker import SageMakerBackend
from byohpo.job import TrainingJob
from byohpo.simulator import JobContext, Outcome, Simulator
from byohpo.trial import JobState

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
FAST_RETRIES = RetryPolicy(max_attempts=20, base_delay=0.01, max_delay=0.1)

SCRIPT = textwrap.dedent(
    """
    import argparse, signal, sys, time

    def on_sigterm(signum, frame):
        time.sleep(1.0)  # a job takes a moment to stop, as on SageMaker
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    parser = argparse.ArgumentParser()
    parser.add_argument("--acc", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--outcome", default="ok")
    args, _ = parser.parse_known_args()
    for epoch in range(1, 4):
        time.sleep(args.seconds / 3)
        print(f"epoch {epoch} acc={args.acc * epoch / 3:.6f}", flush=True)
    if args.outcome == "fail":
        print("boom", file=sys.stderr)
        sys.exit(1)
    """
)


def write_script(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "train.py").write_text(SCRIPT)
    return directory


def script_job(source: Path, **changes: object) -> TrainingJob:
    fields: dict[str, object] = {
        "entry_point": "train.py",
        "source_dir": str(source),
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/byohpo-tests:1",
        "role": ROLE,
        "output_path": "s3://byohpo-tests/studies",
        "metric_definitions": {"acc": r"acc=([0-9\.]+)"},
    }
    fields.update(changes)
    return TrainingJob(**fields)  # type: ignore[arg-type]


@dataclass
class Harness:
    """An opened backend, and what the contract tests need around it."""

    backend: Backend
    job: TrainingJob
    study: str
    reattach: Callable[[], Backend]
    """Another backend object opened on the same study (as after a restart)."""
    calls: Callable[[], Counter[str]]
    """API calls the backend made so far, by operation."""

    def wait(self, names: Collection[str], timeout: float = 60.0) -> list[list[JobState]]:
        """Poll until every job is terminal; every poll's answer, in order."""
        history = []
        deadline = time.monotonic() + timeout
        while True:
            states = self.backend.poll(names)
            history.append(states)
            if all(s.status.is_terminal for s in states):
                return history
            if time.monotonic() > deadline:
                raise TimeoutError(f"still running: {[s for s in states if s.status.is_busy]}")
            self.backend.clock.sleep(self.backend.min_poll_interval)


@contextmanager
def fake_harness(study: str, tmp_path: Path) -> Iterator[Harness]:
    pytest.importorskip("moto")
    from byohpo.fake import FakeSageMaker

    job = script_job(write_script(tmp_path / "code"))
    with FakeSageMaker(retry=FAST_RETRIES, min_poll_interval=0.1, max_concurrent_jobs=8) as fake:
        fake.open(study, job)

        def reattach() -> Backend:
            other = SageMakerBackend(
                session=fake.aws.session(),
                retry=FAST_RETRIES,
                min_poll_interval=0.1,
                list_calls_per_second=None,
            )
            other.open(study, job)
            return other

        yield Harness(fake, job, study, reattach, lambda: Counter(fake.api_calls))


class ScriptProblem:
    """The simulator's stand-in for the harness's script: the same hyperparameters, the same
    metrics (``acc`` on three lines), the same failure."""

    def run(self, job: JobContext) -> Outcome:
        hp = job.hyperparameters
        acc, seconds = float(hp.get("acc", 0.5)), float(hp.get("seconds", 0.0))
        curve = [(seconds * epoch / 3, round(acc * epoch / 3, 6)) for epoch in range(1, 4)]
        failure = "AlgorithmError: boom" if hp.get("outcome") == "fail" else None
        return Outcome(seconds, curves={"acc": curve}, failure_reason=failure)


@contextmanager
def simulator_harness(study: str, tmp_path: Path) -> Iterator[Harness]:
    sim = Simulator(ScriptProblem(), seed=0, min_poll_interval=0.1)
    job = script_job(write_script(tmp_path / "code"))
    sim.open(study, job)

    def reattach() -> Backend:
        other = sim.reattach()
        other.open(study, job)
        return other

    yield Harness(sim, job, study, reattach, lambda: Counter(sim.api_calls))


HARNESSES: dict[str, Callable[[str, Path], AbstractContextManager[Harness]]] = {
    "fake": fake_harness,
    "simulator": simulator_harness,
}
"""Every backend the contract suite checks: add one here to hold it to the contract."""


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with HARNESSES[request.param](f"contract {request.node.name}", tmp_path) as opened:
        yield opened
