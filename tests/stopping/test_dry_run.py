"""The dry run of examples/digits-asha.toml: the digits MLP really trains, ASHA stops jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

import byohpo
from byohpo.study_file import load_study_file

pytestmark = pytest.mark.slow

STUDY_FILE = Path(__file__).resolve().parents[2] / "examples" / "digits-asha.toml"


@pytest.fixture
def studies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "studies"
    monkeypatch.setenv("BYOHPO_STUDIES", str(root))
    return root


def test_asha_stops_some_digits_jobs_which_end_stopped_in_the_fake_and_the_table(
    studies: Path,
) -> None:
    study = load_study_file(STUDY_FILE)
    # Batches of 2 make an epoch about 8 times longer than the file's 16 do (27 epochs in about
    # 3 s, not 0.4 s), so a stop reaches the script before it ends on a loaded machine too.
    space = byohpo.SearchSpace({**study.tuner_args["space"], "batch_size": byohpo.Static(2)})
    with byohpo.FakeSageMaker(min_poll_interval=0.05) as fake:
        tuner = study.make_tuner(backend=fake, progress=False, max_jobs=8, space=space)
        result = tuner.run()
        in_the_fake = {job.name: job for job in fake.aws.jobs()}
    table = result.table()
    stopped = table[table["stopped_by"] == "asha"]
    assert len(stopped) >= 1
    for _, row in stopped.iterrows():
        assert row["status"] == "Stopped"
        fake_job = in_the_fake[row["job_name"]]
        assert fake_job.status == "Stopped"  # not Failed: the script got SIGTERM, SageMaker-like
        assert row["stopped_at"] in (1, 3, 9)  # the rungs below 27 epochs
        # stopped at an early rung, it reported far fewer than 27 epochs
        curve = result.learning_curves().query(f"trial_id == {row['trial_id']}")
        assert len(curve) < 27
    completed = table[table["status"] == "Completed"]
    assert len(completed) >= 1
    curves = result.learning_curves()
    for tid in completed["trial_id"]:
        # the real script's per-epoch lines reached the study (27 epochs, then the final line)
        assert len(curves.query(f"trial_id == {tid}")) >= 27
