"""A notebook written for the SageMaker SDK v3's tuner (ModelTrainer) runs with its import changed.

Needs SDK v3 (``make test-sdk3``, an environment of its own); skipped without it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from byohpo.sdk._analytics import SDK_COLUMNS
from byohpo.sdk._tuner import default_backend
from tests.sdk.test_notebook_v2 import _accuracy

HERE = Path(__file__).parent
SDK_IMPORT = "from sagemaker.train.tuner import HyperparameterTuner\n"
BYOHPO_IMPORT = "from byohpo import HyperparameterTuner\n"


@pytest.mark.slow
def test_an_sdk_v3_notebook_runs_with_only_its_import_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own import notices
        pytest.importorskip("sagemaker.train.tuner")
    from byohpo import FakeSageMaker

    notebook = (HERE / "notebook_v3.py").read_text()
    assert notebook.count(SDK_IMPORT) == 1
    changed = notebook.replace(SDK_IMPORT, BYOHPO_IMPORT)
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.csv").write_text("1,2\n3,4\n5,6\n")
    monkeypatch.setenv("NOTEBOOK_CODE", str(HERE / "notebook_code"))
    monkeypatch.setenv("NOTEBOOK_DATA", str(data))
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    namespace: dict[str, Any] = {}
    with (
        FakeSageMaker(min_poll_interval=0.05) as fake,
        default_backend(fake),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", DeprecationWarning)
        exec(compile(changed, str(HERE / "notebook_v3.py"), "exec"), namespace)

    frame = namespace["frame"]
    assert list(frame.columns[:9]) == ["learning_rate", "layers", "optimizer", *SDK_COLUMNS]
    assert len(frame) == 3
    assert (frame["TrainingJobStatus"] == "Completed").all()
    for _, row in frame.iterrows():
        assert row["FinalObjectiveValue"] == pytest.approx(_accuracy(row))
    assert namespace["best"] == frame.loc[frame["FinalObjectiveValue"].idxmax(), "TrainingJobName"]
