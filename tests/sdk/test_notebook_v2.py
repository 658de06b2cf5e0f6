"""A notebook written for the SageMaker SDK v2's tuner runs on byohpo with its import changed.

Needs the SDK (``make test-sdk`` installs it in an environment of its own);
skipped without it. The notebook's scripts really run, on the fake AWS.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import pytest

from byohpo.sdk._analytics import SDK_COLUMNS
from byohpo.sdk._tuner import default_backend

HERE = Path(__file__).parent
SDK_IMPORT = "from sagemaker.tuner import HyperparameterTuner\n"
BYOHPO_IMPORT = "from byohpo import HyperparameterTuner\n"


def _accuracy(row: Any) -> float:
    """What notebook_code/train.py prints for a row's hyperparameters (3 rows of data)."""
    accuracy = 0.9 - 0.02 * (math.log10(row["learning_rate"]) + 2) ** 2
    accuracy -= 0.01 * (row["layers"] - 3) ** 2
    accuracy += 0.03 if row.get("optimizer") == "adam" else 0.0
    return round(accuracy + 0.003, 4)


@pytest.mark.slow
def test_an_sdk_v2_notebook_runs_with_only_its_import_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own import notices
        pytest.importorskip("sagemaker.tuner")
    from byohpo import FakeSageMaker

    notebook = (HERE / "notebook_v2.py").read_text()
    assert notebook.count(SDK_IMPORT) == 1
    changed = notebook.replace(SDK_IMPORT, BYOHPO_IMPORT)
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.csv").write_text("1,2\n3,4\n5,6\n")
    monkeypatch.setenv("NOTEBOOK_CODE", str(HERE / "notebook_code"))
    monkeypatch.setenv("NOTEBOOK_DATA", str(data))
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    namespace: dict[str, Any] = {}
    with (
        FakeSageMaker(min_poll_interval=0.05) as fake,
        default_backend(fake),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", DeprecationWarning)
        exec(compile(changed, str(HERE / "notebook_v2.py"), "exec"), namespace)

    frame = namespace["estimator_frame"]
    assert list(frame.columns[:9]) == ["learning_rate", "layers", "optimizer", *SDK_COLUMNS]
    assert len(frame) == 4
    assert (frame["TrainingJobStatus"] == "Completed").all()
    for _, row in frame.iterrows():  # each job's value is what its script printed
        assert row["FinalObjectiveValue"] == pytest.approx(_accuracy(row))
    best = frame.loc[frame["FinalObjectiveValue"].idxmax(), "TrainingJobName"]
    assert namespace["estimator_best"] == best
    counters = namespace["estimator_description"]["TrainingJobStatusCounters"]
    assert counters["Completed"] == 4
    assert frame["train:accuracy"].notna().all()  # the second SDK metric definition

    mxnet = namespace["mxnet_frame"]
    assert list(mxnet.columns[:8]) == ["learning_rate", "layers", *SDK_COLUMNS]
    assert len(mxnet) == 2
    assert mxnet["TrainingJobName"].str.startswith("nb-mxnet").all()
    assert (
        namespace["mxnet_best"]
        == mxnet.loc[mxnet["FinalObjectiveValue"].idxmax(), "TrainingJobName"]
    )
