"""For people coming from the SageMaker Python SDK.

- :mod:`byohpo.sdk._conversion`: an SDK ``Estimator`` (v2) or ``ModelTrainer`` (v3), its
  metric definitions and tags, read as byohpo's values (no SDK import needed);
- :mod:`byohpo.sdk._tuner`: :class:`~byohpo.sdk._tuner.HyperparameterTuner`, the SDK's tuner
  with byohpo behind it (``from byohpo import HyperparameterTuner`` is the switch);
- :mod:`byohpo.sdk._arguments`: the SDK tuner's arguments, checked and read as a study's;
- :mod:`byohpo.sdk._background`: ``fit(wait=False)``'s run in a thread, waited for or stopped;
- :mod:`byohpo.sdk._analytics`: its ``analytics().dataframe()``.

Nothing here is imported by ``import byohpo``; the tuner is imported when first named.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["HyperparameterTuner", "default_backend"]

if TYPE_CHECKING:
    from byohpo.sdk._tuner import HyperparameterTuner, default_backend


def __getattr__(name: str) -> Any:
    # Lazy, because byohpo.job reads SDK objects through byohpo.sdk._conversion.
    if name not in __all__:
        raise AttributeError(f"module 'byohpo.sdk' has no attribute {name!r}")
    return getattr(importlib.import_module("byohpo.sdk._tuner"), name)
