"""A study's results in the shapes the SageMaker SDK's tuner returns them.

``HyperparameterTuner.analytics().dataframe()`` has the columns of the SDK's
``HyperparameterTuningJobAnalytics``, and ``describe()`` the keys of
``DescribeHyperParameterTuningJob`` that notebooks read, so code written for
the SDK's tuner reads a byohpo study unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from byohpo.results import StudyResult

SDK_COLUMNS = (
    "TrainingJobName",
    "TrainingJobStatus",
    "FinalObjectiveValue",
    "TrainingStartTime",
    "TrainingEndTime",
    "TrainingElapsedTimeSeconds",
)
"""The columns the SDK's analytics put after one column per tuned hyperparameter."""


class TuningAnalytics:
    """The SDK's ``HyperparameterTuningJobAnalytics`` for a byohpo study.

    ``dataframe()`` has one row per training job (a trial that reused another
    trial's result has no job of its own and no row, as in SageMaker), with one
    column per tuned hyperparameter, then :data:`SDK_COLUMNS`, and byohpo's
    extra columns (each metric, ``cost``) after them.
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self._frame: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return self._result().name

    def _result(self) -> StudyResult:
        return StudyResult.load(self.location)

    def dataframe(self, force_refresh: bool = False) -> pd.DataFrame:
        """The table; read again from the study's store when ``force_refresh`` is true."""
        if self._frame is None or force_refresh:
            self._frame = sdk_dataframe(self._result())
        return self._frame.copy()

    def clear_cache(self) -> None:
        self._frame = None


def sdk_dataframe(result: StudyResult) -> pd.DataFrame:
    """``result.table()`` with the SDK's column names, one row per training job."""
    table = result.table()
    table = table[table["job_name"].notna() & table["duplicate_of"].isna()]
    objective = next(iter(result.objective_columns.values()))
    tuned = result.tuned_parameter_names
    frame = pd.DataFrame({name: table[result.parameter_columns[name]] for name in tuned})
    frame["TrainingJobName"] = table["job_name"]
    frame["TrainingJobStatus"] = table["status"]
    frame["FinalObjectiveValue"] = table[objective]
    frame["TrainingStartTime"] = table["start_time"]
    frame["TrainingEndTime"] = table["end_time"]
    elapsed = (table["end_time"] - table["start_time"]).dt.total_seconds()
    frame["TrainingElapsedTimeSeconds"] = elapsed.astype("float64")
    for metric, column in result.metric_columns.items():
        if column not in frame:
            frame[metric] = table[column]
    frame["cost"] = table["cost"]
    return frame.reset_index(drop=True)


def sdk_description(result: StudyResult, *, running: bool) -> dict[str, Any]:
    """The keys of ``DescribeHyperParameterTuningJob`` a notebook reads, for a study."""
    study = result.study
    table = result.table()
    own = table[table["job_name"].notna() & table["duplicate_of"].isna()]
    counts = own["status"].value_counts().to_dict()
    objective = result.objectives[0] if result.objectives else None
    stopped = [e for e in result.log.interruptions if e.get("jobs") == "stopped"]
    if result.is_finished and result.stop_reason and result.stop_reason.startswith("stopped"):
        status = "Stopped"
    elif stopped and not result.is_finished:
        status = "Stopping" if running else "Stopped"
    elif running:
        status = "InProgress"
    else:
        status = "Completed"
    description: dict[str, Any] = {
        "HyperParameterTuningJobName": result.name,
        "HyperParameterTuningJobStatus": status,
        "HyperParameterTuningJobConfig": {
            "Strategy": study.get("strategy"),
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize" if objective and objective.maximize else "Minimize",
                "MetricName": objective.metric if objective else None,
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": study.get("max_jobs"),
                "MaxParallelTrainingJobs": study.get("max_parallel_jobs"),
            },
        },
        "TrainingJobStatusCounters": {
            "Completed": int(counts.get("Completed", 0)),
            "InProgress": int(counts.get("InProgress", 0)),
            "Stopped": int(counts.get("Stopped", 0)),
            "RetryableError": 0,
            "NonRetryableError": int(counts.get("Failed", 0)),
        },
        "ObjectiveStatusCounters": {
            "Succeeded": int(own[result.objective_columns[objective.metric]].notna().sum())
            if objective
            else 0,
            "Pending": int(counts.get("InProgress", 0)),
            "Failed": int(counts.get("Failed", 0)),
        },
    }
    best = _best_job(result)
    if best is not None:
        description["BestTrainingJob"] = best
    return description


def _best_job(result: StudyResult) -> dict[str, Any] | None:
    if result.completed().empty:
        return None
    row = result.best()
    if not isinstance(row, pd.Series):
        return None
    objective = result.objectives[0]
    value = float(row[result.objective_columns[objective.metric]])
    return {
        "TrainingJobName": row["job_name"],
        "TrainingJobStatus": row["status"],
        "TunedHyperParameters": {
            name: str(row[result.parameter_columns[name]]) for name in result.tuned_parameter_names
        },
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "MetricName": objective.metric,
            "Value": value if math.isfinite(value) else None,
        },
    }
