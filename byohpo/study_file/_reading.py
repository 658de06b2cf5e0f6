"""Reading a study file, from disk or S3, into a :class:`StudyFile`: every table checked."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from byohpo.errors import StudyFileError, UserError
from byohpo.study_file._dry_run_table import dry_run_faults, dry_run_inputs
from byohpo.study_file._keys import check_type, unknown_key
from byohpo.study_file._tables import (
    REQUIRED,
    TABLES,
    check_early_stopping,
    check_strategy,
    check_study_value,
    job_table,
    objectives_tables,
    sagemaker_table,
    space_table,
    study_table,
)

if TYPE_CHECKING:
    from byohpo.fake._faults import Faults


@dataclass
class StudyFile:
    """A parsed study file: the Tuner's arguments, and where the file is."""

    path: Path
    tuner_args: dict[str, Any]
    dry_run_inputs: dict[str, Path]
    tables: dict[str, Any] = field(default_factory=dict)
    """The file's tables as read (``tables.get("pipeline")`` for the pipeline options)."""
    dry_run_faults: Faults | None = None
    events_queue: str | None = None
    """``[sagemaker] events_queue``: the SQS queue of status by events, if any."""
    """``[dry_run.faults]``: what goes wrong in the fake AWS of a dry run, if anything."""
    uri: str | None = None
    """The ``s3://`` URI the file was read from, if it came from S3."""

    @property
    def name(self) -> str:
        return str(self.tuner_args["study_name"])

    def rename(self, name: str) -> None:
        """Run this file as a new study called ``name`` (checked like the file's own name)."""
        check_study_value("name", name, "--name")
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
            raise unknown_key(table, list(TABLES), where, "top level")
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
    args.update(study_table(data["study"], where))
    if "warm_start" in args:
        args["warm_start"] = _relative_to_file(args["warm_start"], base)
    args.update(objectives_tables(data, where))
    args["space"] = space_table(data["space"], where)
    args["job"] = job_table(data["job"], where, base)
    if "prices" in data:
        for key, value in data["prices"].items():
            check_type(value, (int, float), where, f"prices.{key}")
            if not math.isfinite(value) or value < 0:
                raise StudyFileError(
                    "a price must be a number of dollars per hour, 0 or more",
                    repr(value),
                    f'Write "{key}" = 0.115 (the hourly price of that instance type).',
                    path=where,
                    key=f"prices.{key}",
                )
        args["prices"] = dict(data["prices"])
    inputs = dry_run_inputs(data.get("dry_run", {}), args["job"].inputs, where, base)
    study = StudyFile(path, args, inputs, tables=data)
    study.dry_run_faults = dry_run_faults(data.get("dry_run", {}), where)
    study.events_queue = sagemaker_table(data.get("sagemaker", {}), where)
    check_strategy(study.tuner_args, data["study"], where)
    check_early_stopping(study.tuner_args, data, where)
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
