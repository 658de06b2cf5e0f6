"""byohpo: bring any hyperparameter-optimization algorithm to Amazon SageMaker.

The public names are listed in ``__all__``; each is imported when first used,
so ``import byohpo`` stays light and never needs an optional extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "SearchSpace": "byohpo.space",
    "Static": "byohpo.space",
    "Continuous": "byohpo.space",
    "Integer": "byohpo.space",
    "Categorical": "byohpo.space",
    "Objective": "byohpo.objectives",
    "TrainingJob": "byohpo.job",
    "SageMakerBackend": "byohpo.backends._sagemaker",
    "FakeSageMaker": "byohpo.fake",
    "Simulator": "byohpo.simulator",
    "Tuner": "byohpo.study._tuner",
    "StudyResult": "byohpo.results",
    "JobStatus": "byohpo.trial",
    "Suggestion": "byohpo.strategies._suggestion",
    "HyperparameterTuner": "byohpo.sdk._tuner",
    "MemoryEventLog": "byohpo.study._store",
}

__all__ = [*sorted(_EXPORTS), "errors", "stopping", "strategies"]

if TYPE_CHECKING:
    from byohpo import errors, stopping, strategies
    from byohpo.backends._sagemaker import SageMakerBackend
    from byohpo.fake import FakeSageMaker
    from byohpo.job import TrainingJob
    from byohpo.objectives import Objective
    from byohpo.results import StudyResult
    from byohpo.sdk._tuner import HyperparameterTuner
    from byohpo.simulator import Simulator
    from byohpo.space import Categorical, Continuous, Integer, SearchSpace, Static
    from byohpo.strategies._suggestion import Suggestion
    from byohpo.study._store import MemoryEventLog
    from byohpo.study._tuner import Tuner
    from byohpo.trial import JobStatus


def __getattr__(name: str) -> Any:
    if name in ("errors", "stopping", "strategies"):
        return importlib.import_module(f"byohpo.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'byohpo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
