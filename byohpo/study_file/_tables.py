"""The tables that become the Tuner's arguments: ``[study]``, ``[objective]`` or
``[objectives]``, ``[space]``, ``[job]``, ``[prices]`` and ``[early_stopping]``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from byohpo.errors import StudyFileError, UserError
from byohpo.space import SearchSpace, parameter_from_json
from byohpo.study_file._keys import check_type, unknown_key

STUDY_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "strategy": str,
    "mode": str,
    "max_jobs": int,
    "max_parallel_jobs": int,
    "seed": int,
    "max_runtime": (int, float),
    "max_cost": (int, float),
    "max_retries": int,
    "store": str,
    "on_interrupt": str,
    "poll_interval": (int, float),
    "early_stopping": str,
    "warm_start": (list, str),
}
TABLES = (
    "study",
    "objective",
    "objectives",
    "job",
    "space",
    "early_stopping",
    "prices",
    "dry_run",
    "pipeline",
    "sagemaker",
)
REQUIRED = ("study", "job", "space")


SAGEMAKER_KEYS = ("events_queue",)


def sagemaker_table(table: Mapping[str, Any], where: str) -> str | None:
    """``[sagemaker]``: the SageMaker backend's settings; ``events_queue``, the SQS queue URL
    of status by events (infra/template.yaml's JobEventsQueueUrl), or None."""
    from byohpo.backends._job_events import check_queue_url

    for key in table:
        if key not in SAGEMAKER_KEYS:
            raise unknown_key(key, list(SAGEMAKER_KEYS), where, "sagemaker")
    url = table.get("events_queue")
    if url is None:
        return None
    check_type(url, str, where, "sagemaker.events_queue")
    try:
        return check_queue_url(url)
    except UserError as exc:
        raise StudyFileError(
            exc.must, exc.got, exc.fix, path=where, key="sagemaker.events_queue"
        ) from None


def study_table(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in table.items():
        if key in STUDY_KEYS:
            check_type(value, STUDY_KEYS[key], where, f"study.{key}")
            check_study_value(key, value, where)
            args["study_name" if key == "name" else key] = value
        else:
            options[key] = value  # the strategy's own options, checked by the strategy
    if "name" not in table:
        raise StudyFileError(
            "[study] needs a name", "none", 'Add name = "my-study".', path=where, key="study.name"
        )
    args["strategy_options"] = options
    return args


POSITIVE_KEYS = {
    "max_runtime": "seconds",
    "max_cost": "dollars",
    "poll_interval": "seconds",
}
ON_INTERRUPT = ("ask", "stop", "keep")


def check_study_value(key: str, value: Any, where: str) -> None:
    """The [study] values whose type is right but whose value cannot work."""
    from byohpo.study._tuner import STUDY_NAME

    if key == "name" and not STUDY_NAME.match(value):
        raise StudyFileError(
            "a study name is 1 to 100 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (it names the study's jobs and its folder)",
            repr(value),
            'Write name = "my-study".',
            path=where,
            key="study.name",
        )
    if key == "on_interrupt" and value not in ON_INTERRUPT:
        raise StudyFileError(
            f"must be one of {', '.join(repr(v) for v in ON_INTERRUPT)}",
            repr(value),
            'Write on_interrupt = "keep" (jobs go on; `byohpo resume` collects them), '
            '"stop" (stop them) or "ask".',
            path=where,
            key="study.on_interrupt",
        )
    if key == "warm_start":
        from byohpo.study._warm_start import warm_start_sources

        try:
            warm_start_sources(value)
        except UserError as exc:
            raise StudyFileError(
                exc.must, exc.got, exc.fix, path=where, key="study.warm_start"
            ) from None
    if key in POSITIVE_KEYS and (not math.isfinite(value) or value <= 0):
        raise StudyFileError(
            f"must be a positive number of {POSITIVE_KEYS[key]}",
            repr(value),
            f"Write {key} = <a number above 0>, or leave {key} out for no limit"
            if key != "poll_interval"
            else "Write poll_interval = 30, or leave it out for the default.",
            path=where,
            key=f"study.{key}",
        )


def check_strategy(args: dict[str, Any], table: Mapping[str, Any], where: str) -> None:
    from byohpo.strategies import make_strategy

    try:
        make_strategy(table.get("strategy", "auto"), **args["strategy_options"])
    except UserError as exc:
        options = args["strategy_options"]
        bad = next((k for k in options if k in str(exc)), None)
        key = f"study.{bad}" if bad else "study.strategy"
        raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key=key) from None


def objectives_tables(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    if "objective" in data and "objectives" in data:
        raise StudyFileError(
            "give [objective] (one metric) or [objectives] (several), not both",
            None,
            "Keep one of them.",
            path=where,
            key="objective",
        )
    if "objectives" in data:
        table = data["objectives"]
        for metric, direction in table.items():
            check_type(direction, str, where, f"objectives.{metric}")
        return {"objectives": dict(table)}
    table = data.get("objective")
    if not isinstance(table, dict):
        raise StudyFileError(
            "a study file needs an [objective] table",
            "none",
            'Add [objective] with metric = "validation:accuracy" and direction = "maximize".',
            path=where,
            key="objective",
        )
    for key in table:
        if key not in ("metric", "direction"):
            raise unknown_key(key, ["metric", "direction"], where, "objective")
    if "metric" not in table:
        raise StudyFileError(
            "[objective] needs a metric",
            "none",
            "Name one of the job's metric_definitions.",
            path=where,
            key="objective.metric",
        )
    check_type(table["metric"], str, where, "objective.metric")
    check_type(table.get("direction", "maximize"), str, where, "objective.direction")
    return {"objective": table["metric"], "direction": table.get("direction", "maximize")}


def space_table(table: Mapping[str, Any], where: str) -> SearchSpace:
    try:
        params = {name: parameter_from_json(spec, name) for name, spec in table.items()}
        return SearchSpace(params)
    except UserError as exc:
        key = next((f"space.{n}" for n in table if str(exc).startswith(f"{n}:")), "space")
        raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key=key) from None


def job_table(table: Mapping[str, Any], where: str, base: Path | None) -> Any:
    from byohpo.job import TrainingJob

    fields = {f.name: f for f in dataclasses.fields(TrainingJob)}
    for key in table:
        if key not in fields:
            raise unknown_key(key, list(fields), where, "job")
    values = dict(table)
    source = values.get("source_dir")
    if isinstance(source, str) and not source.startswith("s3://"):
        if base is None:
            raise StudyFileError(
                "a study file in S3 must name its code in S3",
                repr(source),
                'Upload the code and write source_dir = "s3://.../sourcedir.tar.gz" '
                "(byohpo pipeline deploy does this for you).",
                path=where,
                key="job.source_dir",
            )
        values["source_dir"] = str((base / source).resolve())
    for key in ("metric_definitions", "inputs", "environment", "tags", "hyperparameters"):
        if key in values and not isinstance(values[key], dict):
            raise StudyFileError(
                "must be a table",
                repr(values[key]),
                f'Write {key} = {{ name = "..." }}.',
                path=where,
                key=f"job.{key}",
            )
    try:
        return TrainingJob(**values)
    except UserError as exc:
        field = getattr(exc, "field", None)
        key = f"job.{field}" if field else next((f"job.{k}" for k in table if k in str(exc)), "job")
        raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key=key) from None
    except TypeError as exc:
        raise StudyFileError(
            str(exc), None, "Check the [job] table.", path=where, key="job"
        ) from None


def check_early_stopping(args: dict[str, Any], data: Mapping[str, Any], where: str) -> None:
    from byohpo.objectives import make_objectives
    from byohpo.study._early_stopping import plan_early_stopping

    table = data.get("early_stopping")
    if table is not None and not isinstance(table, dict):
        raise StudyFileError("must be a table", repr(table), None, path=where, key="early_stopping")
    if table and "early_stopping" not in args:
        raise StudyFileError(
            "an [early_stopping] table needs a rule: early_stopping in [study]",
            "none",
            'Add early_stopping = "asha" (or "median", "hyperband") to [study].',
            path=where,
            key="study.early_stopping",
        )
    if "early_stopping" not in args:
        return
    args["early_stopping_options"] = dict(table or {})
    try:
        plan_early_stopping(
            args["early_stopping"],
            args["early_stopping_options"],
            job=args["job"],
            space=args["space"],
            objectives=make_objectives(
                args.get("objective"), args.get("direction", "maximize"), args.get("objectives")
            ),
        )
    except UserError as exc:
        bad = next((k for k in table or {} if k in str(exc)), None)
        key = f"early_stopping.{bad}" if bad else "study.early_stopping"
        raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key=key) from None
