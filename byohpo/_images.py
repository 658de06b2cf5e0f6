"""Finding a framework's SageMaker training image, offline, with the SageMaker SDK's tables.

The SDK ships the ECR URI of every framework image it knows (per region,
version, Python version and processor). byohpo reads them through the SDK's
``image_uris.retrieve`` when the ``sagemaker`` extra is installed; without it
a job must name its ``image_uri``.
"""

from __future__ import annotations

import importlib
import re
import warnings
from types import ModuleType
from typing import TYPE_CHECKING

from byohpo.errors import JobDefinitionError, MissingExtraError

if TYPE_CHECKING:
    from byohpo.job import TrainingJob


def _image_uris_module(purpose: str) -> ModuleType:
    for name in ("sagemaker.image_uris", "sagemaker.core.image_uris"):  # SDK v2, then v3
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the SDK's own deprecation notices
                return importlib.import_module(name)
        except ImportError:
            continue
    raise MissingExtraError("sagemaker", "sagemaker", purpose)


def _newest_version(image_uris: ModuleType, framework: str) -> str:
    config = image_uris.config_for_framework(framework)
    versions = config.get("training", config)["versions"]
    return max(versions, key=_version_key)


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.\-]", version))


def training_image(job: TrainingJob, region: str) -> str:
    """The image a job runs: its ``image_uri``, or its framework's image in ``region``.

    Raises :class:`~byohpo.errors.MissingExtraError` when the framework image
    must be looked up and the SageMaker SDK is not installed, and
    :class:`~byohpo.errors.JobDefinitionError` when the SDK knows no such image.
    """
    if job.image_uri is not None:
        return job.image_uri
    framework = job.framework or ""
    image_uris = _image_uris_module(
        f"Finding the training image of framework={framework!r} "
        "(or pass image_uri= to name the image yourself)"
    )
    version = job.framework_version
    try:
        if version is None:
            version = _newest_version(image_uris, framework)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = image_uris.retrieve(
                framework,
                region,
                version=version,
                py_version=job.py_version,
                instance_type=job.instance_type,
                image_scope="training",
            )
        return str(image)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise JobDefinitionError(
            f"the SageMaker SDK must know a training image for framework={framework!r}, "
            f"framework_version={version!r}, py_version={job.py_version!r} in {region}",
            str(exc) or type(exc).__name__,
            "Fix the framework, version or py_version, or pass image_uri= instead.",
        ) from exc
