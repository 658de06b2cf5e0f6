"""Study files: a study as TOML, whose tables mirror the Tuner's arguments.

::

    [study]        name, strategy, mode, max_jobs, max_parallel_jobs, seed, max_runtime,
                   max_cost, max_retries, store, warm_start (earlier studies' names or
                   directories, or { tuning_job = "..." }), and the strategy's own options
    [objective]    metric, direction            (or [objectives]: metric = "maximize", ...)
    [job]          the TrainingJob fields; metric_definitions as a table
    [space]        one inline table per parameter
    [early_stopping] optional: the options of the rule named by ``early_stopping`` in
                   [study] ("median", "asha", "hyperband"), and ``metric``, ``read_interval``
    [prices]       optional: instance type = dollars per hour
    [dry_run]      optional: inputs = { channel = "local/dir" } put into the fake S3
    [dry_run.faults] optional: throttle, fail, capacity, ... fractions of the dry run's
                   calls or jobs that go wrong (see :mod:`byohpo.fake._fault_settings`)
    [pipeline]     optional: how ``byohpo pipeline`` runs the study as a scheduled
                   SageMaker Pipelines step (read by :mod:`byohpo.pipeline`)

A study file may also be read from S3 (``s3://bucket/key.toml``); its code must
then be in S3 too (``source_dir = "s3://.../sourcedir.tar.gz"``).

Every mistake is reported as :class:`~byohpo.errors.StudyFileError` naming
the file, the key and the fix, before anything is launched.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from byohpo.errors import StudyFileError, UserError
from byohpo.space import SearchSpace, parameter_from_json

if TYPE_CHECKING:
    from byohpo.fake._faults import Faults

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
)
REQUIRED = ("study", "job", "space")


@dataclass
class StudyFile:
    """A parsed study file: the Tuner's arguments, and where the file is."""

    path: Path
    tuner_args: dict[str, Any]
    dry_run_inputs: dict[str, Path]
    tables: dict[str, Any] = field(default_factory=dict)
    """The file's tables as read (``tables.get("pipeline")`` for the pipeline options)."""
    dry_run_faults: Faults | None = None
    """``[dry_run.faults]``: what goes wrong in the fake AWS of a dry run, if anything."""
    uri: str | None = None
    """The ``s3://`` URI the file was read from, if it came from S3."""

    @property
    def name(self) -> str:
        return str(self.tuner_args["study_name"])

    def rename(self, name: str) -> None:
        """Run this file as a new study called ``name`` (checked like the file's own name)."""
        _check_value("name", name, "--name")
        self.tuner_args["study_name"] = name

    def make_tuner(self, **overrides: Any) -> Any:
        """The :class:`~byohpo.Tuner` this file describes (``overrides`` win)."""
        from byohpo.study._tuner import Tuner

        args = {**self.tuner_args, **overrides}
        try:
            return Tuner(args.pop("job"), args.pop("space"), **args)
        except StudyFileError:
            raise
        except UserError as exc:
            where = self.uri or str(self.path)
            raise StudyFileError(exc.must, exc.got, exc.fix, path=where) from None


def _type_name(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check_type(value: Any, expected: type | tuple[type, ...], path: str, key: str) -> None:
    if isinstance(value, bool) and bool not in (
        expected if isinstance(expected, tuple) else (expected,)
    ):
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise StudyFileError(
            f"must be {_type_name(expected)}",
            f"{value!r} ({type(value).__name__})",
            f"Write {key} = <{_type_name(expected)}>.",
            path=path,
            key=key,
        )


def _unknown(key: str, known: list[str], path: str, table: str) -> StudyFileError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return StudyFileError(
        f"unknown key {key!r} in [{table}]",
        None,
        f"{hint}Known keys: {', '.join(sorted(known))}.",
        path=path,
        key=f"{table}.{key}",
    )


def load_study_file(path: str | Path, *, s3_client: Any = None) -> StudyFile:
    """Read and check a study file. Relative paths in it are relative to the file.

    ``path`` may be an ``s3://`` URI: the file is downloaded (with ``s3_client``,
    default a new boto3 client), and the paths in it must then be S3 URIs.
    """
    if str(path).startswith("s3://"):
        return _load_from_s3(str(path), s3_client)
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise StudyFileError("the study file must exist", where, "Check the path.", path=where)
    if path.is_dir():
        raise StudyFileError(
            "the study file must be a file",
            "a directory",
            "Give the path of the .toml file in it.",
            path=where,
        )
    return _parse(_read_text(path), path, base=path.parent)


def _read_text(path: Path) -> str:
    where = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StudyFileError(
            "the study file must be readable",
            exc.strerror or type(exc).__name__,
            "Check the file's permissions.",
            path=where,
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StudyFileError(
            "a study file must be UTF-8 text (TOML)",
            f"byte {data[exc.start]:#04x} at offset {exc.start}, which UTF-8 cannot decode",
            "Save the file as UTF-8, or check that this is the study file.",
            path=where,
        ) from None


def _load_from_s3(uri: str, s3_client: Any) -> StudyFile:
    from botocore.exceptions import ClientError

    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        text = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise StudyFileError(
            f"the study file must be readable in S3 ({code})",
            uri,
            "Check the URI, and that your AWS credentials may read it.",
            path=uri,
        ) from exc
    study = _parse(text, Path(key), base=None, where=uri)
    study.uri = uri
    return study


def _parse(text: str, path: Path, *, base: Path | None, where: str | None = None) -> StudyFile:
    """Check a study file's text; ``base`` is where relative paths start (None: not allowed)."""
    where = where or str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(
            f"must be valid TOML ({exc})", None, "Fix the syntax.", path=where
        ) from None
    for table in data:
        if table not in TABLES:
            raise _unknown(table, list(TABLES), where, "top level")
    for table in REQUIRED:
        if table not in data:
            raise StudyFileError(
                f"a study file needs a [{table}] table",
                "none",
                f"Add [{table}].",
                path=where,
                key=table,
            )
    for table, value in data.items():
        if not isinstance(value, dict):
            raise StudyFileError(
                "must be a table",
                repr(value),
                f"Write [{table}] on a line of its own, then its keys one per line.",
                path=where,
                key=table,
            )
    args: dict[str, Any] = {}
    args.update(_study_table(data["study"], where))
    if "warm_start" in args:
        args["warm_start"] = _relative_to_file(args["warm_start"], base)
    args.update(_objectives(data, where))
    args["space"] = _space(data["space"], where)
    args["job"] = _job(data["job"], where, base)
    if "prices" in data:
        for key, value in data["prices"].items():
            _check_type(value, (int, float), where, f"prices.{key}")
            if not math.isfinite(value) or value < 0:
                raise StudyFileError(
                    "a price must be a number of dollars per hour, 0 or more",
                    repr(value),
                    f'Write "{key}" = 0.115 (the hourly price of that instance type).',
                    path=where,
                    key=f"prices.{key}",
                )
        args["prices"] = dict(data["prices"])
    inputs = _dry_run_inputs(data.get("dry_run", {}), args["job"].inputs, where, base)
    study = StudyFile(path, args, inputs, tables=data)
    study.dry_run_faults = _dry_run_faults(data.get("dry_run", {}), where)
    _check_strategy(study, data["study"], where)
    _check_early_stopping(study, data, where)
    return study


def _relative_to_file(sources: Any, base: Path | None) -> Any:
    """Warm-start sources given as relative directories start at the file, as source_dir
    does; names, absolute paths and ``s3://`` stores are kept as written."""
    if base is None:
        return sources
    items = [sources] if isinstance(sources, str) else list(sources)
    return [
        str(base / item)
        if isinstance(item, str) and "/" in item and not item.startswith(("s3://", "/"))
        else item
        for item in items
    ]


def _check_early_stopping(study: StudyFile, data: Mapping[str, Any], where: str) -> None:
    from byohpo.objectives import make_objectives
    from byohpo.study._early_stopping import plan_early_stopping

    args = study.tuner_args
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


def _dry_run_inputs(
    dry: Mapping[str, Any], channels: Mapping[str, str], where: str, base: Path | None
) -> dict[str, Path]:
    """``[dry_run] inputs``: S3 URI of each named channel -> an existing local path."""
    inputs: dict[str, Path] = {}
    for key in dry:
        if key not in ("inputs", "faults"):
            raise _unknown(key, ["inputs", "faults"], where, "dry_run")
    table = dry.get("inputs", {})
    if not isinstance(table, dict):
        raise StudyFileError(
            "must be a table of channel = local folder",
            repr(table),
            f'Write inputs = {{ {next(iter(channels), "train")} = "data/train" }}.',
            path=where,
            key="dry_run.inputs",
        )
    for channel, local in table.items():
        _check_type(local, str, where, f"dry_run.inputs.{channel}")
        if channel not in channels:
            raise StudyFileError(
                "a dry-run input must name one of the job's input channels",
                repr(channel),
                f"Use one of {sorted(channels)}.",
                path=where,
                key=f"dry_run.inputs.{channel}",
            )
        folder = ((base or Path.cwd()) / local).resolve()
        if not folder.exists():
            raise StudyFileError(
                "a dry-run input must be an existing local folder or file "
                "(relative paths start at the study file)",
                str(folder),
                "Create it, or correct the path.",
                path=where,
                key=f"dry_run.inputs.{channel}",
            )
        inputs[channels[channel]] = folder
    return inputs


def _dry_run_faults(dry: Mapping[str, Any], where: str) -> Faults | None:
    """``[dry_run.faults]``: e.g. ``throttle = 0.3``, ``fail = 0.1``, ``capacity = 0.05``."""
    from byohpo.fake._fault_settings import faults_from_table

    table = dry.get("faults")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise StudyFileError(
            "must be a table of fault = fraction",
            repr(table),
            "Write [dry_run.faults] with lines such as throttle = 0.3 and fail = 0.1.",
            path=where,
            key="dry_run.faults",
        )
    try:
        return faults_from_table(table, "[dry_run.faults]")
    except UserError as exc:
        raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key="dry_run.faults") from None


def _study_table(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in table.items():
        if key in STUDY_KEYS:
            _check_type(value, STUDY_KEYS[key], where, f"study.{key}")
            _check_value(key, value, where)
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


def _check_value(key: str, value: Any, where: str) -> None:
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


def _check_strategy(study: StudyFile, table: Mapping[str, Any], where: str) -> None:
    from byohpo.strategies import make_strategy

    try:
        make_strategy(table.get("strategy", "auto"), **study.tuner_args["strategy_options"])
    except UserError as exc:
        options = study.tuner_args["strategy_options"]
        bad = next((k for k in options if k in str(exc)), None)
        key = f"study.{bad}" if bad else "study.strategy"
        raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key=key) from None


def _objectives(data: Mapping[str, Any], where: str) -> dict[str, Any]:
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
            _check_type(direction, str, where, f"objectives.{metric}")
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
            raise _unknown(key, ["metric", "direction"], where, "objective")
    if "metric" not in table:
        raise StudyFileError(
            "[objective] needs a metric",
            "none",
            "Name one of the job's metric_definitions.",
            path=where,
            key="objective.metric",
        )
    _check_type(table["metric"], str, where, "objective.metric")
    _check_type(table.get("direction", "maximize"), str, where, "objective.direction")
    return {"objective": table["metric"], "direction": table.get("direction", "maximize")}


def _space(table: Mapping[str, Any], where: str) -> SearchSpace:
    try:
        params = {name: parameter_from_json(spec, name) for name, spec in table.items()}
        return SearchSpace(params)
    except UserError as exc:
        key = next((f"space.{n}" for n in table if str(exc).startswith(f"{n}:")), "space")
        raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key=key) from None


def _job(table: Mapping[str, Any], where: str, base: Path | None) -> Any:
    from byohpo.job import TrainingJob

    fields = {f.name: f for f in dataclasses.fields(TrainingJob)}
    for key in table:
        if key not in fields:
            raise _unknown(key, list(fields), where, "job")
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
