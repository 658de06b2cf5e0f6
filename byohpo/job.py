"""The training-job template: what every trial's SageMaker training job is made from.

A :class:`TrainingJob` checks itself when it is built, so a template SageMaker
would reject (a malformed role ARN, a metric regex without a capture group, a
spot job without a wait limit, ...) is refused before any job is launched and
before any money is spent. Every refusal is a :class:`~byohpo.errors.JobDefinitionError`
saying what must hold, what was given and how to fix it.
"""

from __future__ import annotations

import contextvars
import difflib
import json
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from byohpo import _job_checks as checks
from byohpo.errors import JobDefinitionError
from byohpo.sdk._conversion import metric_definitions_from_sdk, tags_from_sdk
from byohpo.space import Value, format_value

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_MAX_RUNTIME_SECONDS = 24 * 3600
DEFAULT_CONTAINER_LOG_LEVEL = 20  # logging.INFO, as the SageMaker SDK sets it

_check_files: contextvars.ContextVar[bool] = contextvars.ContextVar("check_files", default=True)


@contextmanager
def _blame(field_name: str) -> Iterator[None]:
    """Name the field a failed check was about (a study file reports it as [job.<field>])."""
    try:
        yield
    except JobDefinitionError as exc:
        if exc.field is None:
            exc.field = field_name
        raise


@contextmanager
def _without_file_checks() -> Iterator[None]:
    token = _check_files.set(False)
    try:
        yield
    finally:
        _check_files.reset(token)


@dataclass(frozen=True, kw_only=True)
class TrainingJob:
    """The template every trial's training job is made from.

    The fields mirror the SageMaker Python SDK's ``Estimator`` arguments.
    The code is ``entry_point`` inside ``source_dir`` (a local directory, or
    the S3 URI of a ``sourcedir.tar.gz``), run by a framework container that
    has SageMaker's training toolkit (script mode), exactly as a framework
    ``Estimator`` runs it. The image is ``image_uri``, or the framework's own
    image found from ``framework`` (e.g. ``"sklearn"``, ``"pytorch"``) and
    ``framework_version`` (``None``: the newest one the SDK knows) when the
    backend opens a study; finding it needs ``pip install 'byohpo[sagemaker]'``.
    Without ``entry_point`` the image runs its own program (bring your own
    container) and only the hyperparameters reach it.

    Values built by the backend from the template:

    - ``output_path`` (default: the account's ``sagemaker-<region>-<account>``
      bucket, as the SDK does) receives ``<study>/<job name>/output/model.tar.gz``
      and the study's uploaded code under ``<study>/source/``;
    - ``checkpoint_s3_uri`` is a prefix: each job checkpoints under
      ``<checkpoint_s3_uri>/<job name>`` so that trials never share checkpoints;
    - ``hyperparameters`` are the static ones, sent to every job with the
      trial's tuned values; values become strings as SageMaker passes them.

    ``metric_definitions`` and ``tags`` also take the SDK's forms, lists of
    ``{"Name": ..., "Regex": ...}`` and ``{"Key": ..., "Value": ...}``.

    Built once, never changed: a frozen value, comparable and JSON round-trippable.
    """

    entry_point: str | None
    role: str
    source_dir: str | None = None
    image_uri: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    py_version: str | None = None
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_seconds: int = DEFAULT_MAX_RUNTIME_SECONDS
    use_spot: bool = False
    max_wait_seconds: int | None = None
    keep_alive_seconds: int = 0
    checkpoint_s3_uri: str | None = None
    checkpoint_local_path: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    input_mode: str = "File"
    output_path: str | None = None
    metric_definitions: Mapping[str, str] = field(default_factory=dict)
    hyperparameters: Mapping[str, Value] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    vpc_config: Mapping[str, list[str]] | None = None
    kms_key_id: str | None = None
    volume_kms_key_id: str | None = None
    container_log_level: int = DEFAULT_CONTAINER_LOG_LEVEL

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name, from_sdk in (
            ("metric_definitions", metric_definitions_from_sdk),
            ("tags", tags_from_sdk),
        ):
            value = getattr(self, name)
            if isinstance(value, list | tuple):  # the SageMaker SDK's list-of-dicts form
                with _blame(name):
                    set_(self, name, from_sdk(value))
        for name in ("inputs", "metric_definitions", "hyperparameters", "environment", "tags"):
            with _blame(name):
                set_(self, name, checks.mapping(name, getattr(self, name)))
        with _blame("vpc_config"):
            set_(self, "vpc_config", checks.vpc_config(self.vpc_config))
        with _blame("entry_point"):
            self._check_code()
        with _blame("image_uri"):
            self._check_image()
        with _blame("role"):
            checks.role_arn(self.role)
        with _blame("instance_type"):
            checks.instance(self.instance_type, self.instance_count, self.volume_size_gb)
        with _blame("max_runtime_seconds"):
            self._check_time()
        for name in ("checkpoint_s3_uri", "output_path"):
            value = getattr(self, name)
            if value is not None:
                with _blame(name):
                    set_(self, name, checks.s3_uri(name, value).rstrip("/"))
        with _blame("inputs"):
            checks.inputs(self.inputs, self.input_mode)
        with _blame("metric_definitions"):
            checks.metric_definitions(self.metric_definitions)
        with _blame("hyperparameters"):
            checks.hyperparameters(self.hyperparameters)
        with _blame("environment"):
            checks.environment(self.environment)
        with _blame("tags"):
            checks.tags(self.tags)
        for name in ("kms_key_id", "volume_kms_key_id"):
            with _blame(name):
                checks.kms_key(name, getattr(self, name))
        with _blame("container_log_level"):
            checks.log_level(self.container_log_level)

    # -- checks that relate several fields ----------------------------------------------
    def _check_code(self) -> None:
        entry, source = self.entry_point, self.source_dir
        if entry is None:
            if source is not None:
                raise JobDefinitionError(
                    "source_dir needs an entry_point: the script inside it to run",
                    f"source_dir={source!r} and entry_point=None",
                    "Name the script, e.g. entry_point='train.py'.",
                )
            if self.image_uri is None:
                raise JobDefinitionError(
                    "a TrainingJob without entry_point runs its own container, "
                    "so it needs image_uri",
                    "entry_point=None and image_uri=None",
                    "Give entry_point='train.py' (and source_dir), "
                    "or the image_uri of your container.",
                )
            return
        checks.entry_point(entry, source, check_files=_check_files.get())
        if source is not None and not source.startswith("s3://"):
            object.__setattr__(self, "entry_point", Path(entry).as_posix())

    def _check_image(self) -> None:
        if self.image_uri is not None:
            checks.image_uri(self.image_uri)
        elif self.framework is None:
            raise JobDefinitionError(
                "a TrainingJob needs image_uri, or framework (with framework_version) to find "
                "the framework's SageMaker image",
                "neither",
                "Pass e.g. framework='sklearn', framework_version='1.2-1', "
                "or image_uri='<ECR URI>'.",
            )
        if self.framework is not None:
            checks.framework(self.framework, self.framework_version, self.py_version)

    def _check_time(self) -> None:
        checks.seconds("max_runtime_seconds", self.max_runtime_seconds, 1, checks.MAX_RUNTIME)
        checks.seconds("keep_alive_seconds", self.keep_alive_seconds, 0, checks.MAX_KEEP_ALIVE)
        if not isinstance(self.use_spot, bool):
            raise JobDefinitionError(
                "use_spot must be True or False", repr(self.use_spot), "Give a bool."
            )
        if not self.use_spot:
            if self.max_wait_seconds is not None:
                raise JobDefinitionError(
                    "max_wait_seconds applies only to spot training (use_spot=True)",
                    f"max_wait_seconds={self.max_wait_seconds} with use_spot=False",
                    "Drop max_wait_seconds, or set use_spot=True.",
                )
            return
        if self.max_wait_seconds is None:
            raise JobDefinitionError(
                "spot training needs max_wait_seconds (how long to wait for spot capacity, "
                "training included)",
                "use_spot=True without max_wait_seconds",
                "Add max_wait_seconds of at least max_runtime_seconds "
                f"({self.max_runtime_seconds}), e.g. {2 * self.max_runtime_seconds}.",
            )
        checks.seconds("max_wait_seconds", self.max_wait_seconds, 1, checks.MAX_RUNTIME)
        if self.max_wait_seconds < self.max_runtime_seconds:
            raise JobDefinitionError(
                "max_wait_seconds >= max_runtime_seconds must hold for spot training",
                f"max_wait_seconds={self.max_wait_seconds}, "
                f"max_runtime_seconds={self.max_runtime_seconds}",
                "Raise max_wait_seconds or lower max_runtime_seconds.",
            )
        if self.keep_alive_seconds:
            raise JobDefinitionError(
                "warm pools (keep_alive_seconds > 0) cannot be used with spot training",
                f"keep_alive_seconds={self.keep_alive_seconds} with use_spot=True",
                "Set keep_alive_seconds=0, or use_spot=False.",
            )
        if self.checkpoint_s3_uri is None:
            warnings.warn(
                "A spot job without checkpoint_s3_uri starts over from scratch when its "
                "instance is reclaimed. Set checkpoint_s3_uri and save checkpoints in the "
                "script (SageMaker syncs /opt/ml/checkpoints to it).",
                UserWarning,
                stacklevel=4,
            )

    # -- derived values -------------------------------------------------------------------
    def static_hyperparameters(self) -> dict[str, str]:
        """The static hyperparameters as the strings SageMaker passes to the script."""
        return {name: format_value(value) for name, value in self.hyperparameters.items()}

    @property
    def metric_names(self) -> list[str]:
        """The names of the metric definitions, in order."""
        return list(self.metric_definitions)

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field; :meth:`from_json` reads it back to an equal job."""
        data = asdict(self)
        for name in ("inputs", "metric_definitions", "hyperparameters", "environment", "tags"):
            data[name] = dict(getattr(self, name))
        if self.vpc_config is not None:
            data["vpc_config"] = {k: list(v) for k, v in self.vpc_config.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str, *, check_files: bool = True) -> TrainingJob:
        """Build a job from :meth:`to_json`'s form (a dict, or its JSON text).

        ``check_files=False`` skips checking that the entry point exists
        locally: for reading a recorded template on another machine.
        """
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise JobDefinitionError(
                    "a TrainingJob in JSON must be valid JSON", str(exc), "Fix the JSON text."
                ) from None
        if not isinstance(data, Mapping):
            raise JobDefinitionError(
                "a TrainingJob in JSON is an object of fields", repr(data), "Give a JSON object."
            )
        known = {f.name for f in fields(cls)}
        unknown = [key for key in data if key not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise JobDefinitionError(
                f"a TrainingJob takes only the fields {', '.join(sorted(known))}",
                f"unknown {', '.join(map(repr, unknown))}",
                f"Remove or rename it.{hint}",
            )
        for required in ("entry_point", "role"):
            if required not in data:
                raise JobDefinitionError(
                    f"a TrainingJob needs '{required}'", "none", f"Add {required} = ..."
                )
        if check_files:
            return cls(**data)
        with _without_file_checks():
            return cls(**data)

    @classmethod
    def from_sagemaker(
        cls, estimator: Any, *, inputs: Mapping[str, str] | None = None, **overrides: Any
    ) -> TrainingJob:
        """Convert a SageMaker SDK v2 ``Estimator`` (or framework estimator) or v3 ``ModelTrainer``.

        The SDK is not imported: the object is read by its attributes. The
        code must be a script (``entry_point`` / ``SourceCode.entry_script``)
        run by an image with SageMaker's training toolkit, as framework images
        are. v2 estimators get their data at ``fit()``, so pass ``inputs``
        (channel -> S3 URI) here. ``overrides`` replace any converted field.
        """
        from byohpo.sdk._conversion import fields_from_sdk

        converted = fields_from_sdk(estimator)
        if inputs is not None:
            converted["inputs"] = dict(inputs)
        converted.update(overrides)
        return cls(**converted)
