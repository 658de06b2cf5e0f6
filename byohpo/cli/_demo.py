"""``byohpo demo``: a complete dry-run study with nothing to set up.

A genetic algorithm tunes the digits MLP of ``entry_points/digits_mlp.py``.
Every job really trains on this machine, inside a fake of AWS: the data goes
to the fake S3, jobs go through SageMaker's lifecycle, their logs to the fake
CloudWatch, and their metrics come back through the same code that talks to
SageMaker.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

DEMO_BUCKET = "byohpo-demo"
DEMO_ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
DEMO_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

METRIC_DEFINITIONS = {
    "validation:accuracy": r"Validation-accuracy=([0-9\.]+)",
    "validation:loss": r"Validation-loss=([0-9\.]+)",
    "train:accuracy": r"Train-accuracy=([0-9\.]+)",
    "train:seconds": r"train:seconds=([0-9\.]+)",
}


def entry_points_dir() -> Path:
    """The bundled training scripts (installed with the package, or beside it in a clone)."""
    try:
        path = Path(str(resources.files("byohpo.entry_points")))
        if (path / "digits_mlp.py").exists():
            return path
    except ModuleNotFoundError:
        pass
    clone = Path(__file__).resolve().parents[2] / "entry_points"
    if (clone / "digits_mlp.py").exists():
        return clone
    raise FileNotFoundError("the bundled entry points are missing from this installation")


def demo_space() -> Any:
    from byohpo.space import Categorical, Continuous, Integer, SearchSpace, Static

    return SearchSpace(
        {
            "learning_rate": Continuous(1e-4, 0.3, scaling="log"),
            "num_epoch": Integer(2, 12),
            "hidden_units": Integer(8, 128, scaling="log"),
            "optimizer": Categorical(["sgd", "adam"]),
            "batch_size": Static(64),
        }
    )


def demo_job(source_dir: Path) -> Any:
    from byohpo.job import TrainingJob

    return TrainingJob(
        entry_point="digits_mlp.py",
        source_dir=str(source_dir),
        image_uri=DEMO_IMAGE,
        role=DEMO_ROLE,
        instance_type="ml.m5.large",
        inputs={
            "train": f"s3://{DEMO_BUCKET}/digits/train",
            "validation": f"s3://{DEMO_BUCKET}/digits/validation",
        },
        output_path=f"s3://{DEMO_BUCKET}/output",
        metric_definitions=METRIC_DEFINITIONS,
        max_runtime_seconds=600,
    )


def write_demo_data(directory: Path) -> dict[str, str]:
    """The digits data as train/validation channels; returns S3 URI -> local directory."""
    sys.path.insert(0, str(entry_points_dir()))
    try:
        prepare_data: Any = importlib.import_module("prepare_data")
    finally:
        sys.path.pop(0)
    channels = prepare_data.write_digits_channels(directory)
    return {f"s3://{DEMO_BUCKET}/digits/{name}": str(path) for name, path in channels.items()}


def run_demo(strategy: str = "ga", max_jobs: int = 16, directory: str | None = None) -> int:
    """Run the demo study and print its results; returns the exit status."""
    from byohpo.fake import FakeSageMaker
    from byohpo.results._report import write_report
    from byohpo.study._tuner import Tuner

    root = Path(directory) if directory else Path("byohpo-demo")
    root.mkdir(parents=True, exist_ok=True)
    study_name = f"demo-{strategy}-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"byohpo demo: a {strategy!r} study of {max_jobs} jobs on a local fake of SageMaker")
    with tempfile.TemporaryDirectory() as data_dir:
        inputs = write_demo_data(Path(data_dir))
        with FakeSageMaker(inputs=inputs) as fake:
            tuner = Tuner(
                demo_job(entry_points_dir()),
                demo_space(),
                strategy=strategy,
                objective="validation:accuracy",
                direction="maximize",
                max_jobs=max_jobs,
                max_parallel_jobs=4,
                backend=fake,
                study_name=study_name,
                store=root / study_name,
                seed=7,
                on_interrupt="stop",
            )
            result = tuner.run()
    import pandas as pd

    table = result.table()
    columns = [
        "trial_id",
        "generation",
        "status",
        "objective",
        *demo_space().tunable_names,
        "billable_seconds",
        "cost",
    ]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print()
        print(table[[c for c in columns if c in table.columns]].to_string(index=False))
    best = result.best()
    print(
        f"\nbest validation accuracy {best['objective']:.4f} (trial {best['trial_id']}, "
        f"{best['job_name']})"
    )
    print(f"best hyperparameters: {result.best_config()}")
    report = root / study_name / "report.html"
    write_report(result, report)
    print(f"report: {report}")
    print(f"study store: {root / study_name} (try: byohpo results {root / study_name})")
    return 0
