"""What runs inside the pipeline step's container: run the study, or resume it, then export.

``byohpo pipeline step s3://.../study.toml --store s3://.../store --results-dir DIR
[--run-id ID]`` reads the study file from S3 and looks in the store: a study already
there (the step is a retry, or the execution was retried) is resumed with
:meth:`Tuner.resume <byohpo.study._tuner.Tuner.resume>`, re-attaching its running jobs;
otherwise the study starts. Either way the results end in ``DIR``, which SageMaker
uploads as the step's ``results`` output:

- ``results.csv`` (and ``results.parquet`` when pyarrow is installed): the results table;
- ``best.json``: the best trial's objective values and hyperparameters (or the Pareto
  set), read by later steps through the step's ``BestHyperparameters`` property file.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from byohpo.errors import NoCompletedTrialError, UserError
from byohpo.study._store import Store
from byohpo.study._tuner import STUDY_NAME, Tuner
from byohpo.study_file import StudyFile, load_study_file

if TYPE_CHECKING:
    from byohpo.backends._base import Backend
    from byohpo.results import StudyResult

RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
BEST_JSON = "best.json"


def run_step(
    study_file: str,
    *,
    store: str,
    results_dir: str | Path,
    run_id: str | None = None,
    backend: Backend | None = None,
    progress: bool = True,
    s3_client: Any = None,
) -> StudyResult:
    """Run or resume the study, then write its results to ``results_dir``.

    With ``run_id`` (the pipeline execution's id) the study is ``<name>-<run_id>``,
    kept in ``<store>/<run_id>``: one study per execution, resumed by its retries. The
    study file's ``[sagemaker] events_queue`` gives the SageMaker backend status by events.
    """
    study = load_study_file(study_file, s3_client=s3_client)
    name, location = study.name, store.rstrip("/")
    if run_id:
        name, location = f"{name}-{run_id}", f"{location}/{run_id}"
        if not STUDY_NAME.match(name):
            raise UserError("a run id must keep the study name valid", repr(run_id))
    owned = None
    if backend is None and study.events_queue is not None:  # [sagemaker] events_queue
        from byohpo.backends._sagemaker import SageMakerBackend

        backend = owned = SageMakerBackend(events_queue=study.events_queue)
    try:
        result = _run_or_resume(study, name, location, backend, progress)
    finally:
        if owned is not None:
            owned.close()
    export_results(result, results_dir)
    return result


def _run_or_resume(
    study: StudyFile, name: str, location: str, backend: Backend | None, progress: bool
) -> StudyResult:
    existing = Store(location)
    if existing.exists() and existing.load().study:
        result = Tuner.resume(
            location,
            backend=backend,
            job=study.tuner_args["job"],
            on_interrupt="keep",
            progress=progress,
        )
    else:
        tuner = study.make_tuner(
            backend=backend,
            study_name=name,
            store=location,
            on_interrupt="keep",
            progress=progress,
        )
        result = tuner.run()
    return result


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars become numbers, NaN becomes null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def best_summary(result: StudyResult) -> dict[str, Any]:
    """What ``best.json`` holds: the study, and its best trial or its Pareto set."""
    summary: dict[str, Any] = {
        "study": result.name,
        "finished": result.is_finished,
        "stop_reason": result.stop_reason,
        "objectives": {o.metric: o.direction.value for o in result.objectives},
        "trials": result.trials,
        "best": None,
        "pareto": [],
    }
    try:
        front = result.pareto_front()
    except NoCompletedTrialError:
        return summary
    columns = result.objective_columns
    for _, row in front.iterrows():
        trial_id = int(row["trial_id"])
        summary["pareto"].append(
            {
                "trial_id": trial_id,
                "job_name": row["job_name"],
                "objectives": {m: _plain(row[c]) for m, c in columns.items()},
                "hyperparameters": dict(result.log.trials[trial_id].config),
            }
        )
    best = result.best()
    if isinstance(best, pd.Series):
        summary["best"] = {
            "trial_id": int(best["trial_id"]),
            "job_name": best["job_name"],
            "objective": _plain(best["objective"]),
            "hyperparameters": result.best_config(),
        }
    return summary


def export_results(result: StudyResult, directory: str | Path) -> list[Path]:
    """Write the results table and ``best.json`` to ``directory``; returns the files written."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    table = result.table()
    written = [target / RESULTS_CSV, target / BEST_JSON]
    table.to_csv(written[0], index=False)
    written[1].write_text(json.dumps(best_summary(result), indent=2, sort_keys=True) + "\n")
    if importlib.util.find_spec("pyarrow") is None:
        return written
    table.to_parquet(target / RESULTS_PARQUET, index=False)
    return [*written, target / RESULTS_PARQUET]
