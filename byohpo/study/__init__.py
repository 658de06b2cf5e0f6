"""The study layer: the Tuner, the loop that runs a study, and the study's memory.

It sits between the command line (and study files) above and the strategies, backends and
results below; nothing below imports from here. The modules inside are private; these names
are the surface, imported when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Tuner": "byohpo.study._tuner",
    "StudySpecification": "byohpo.study._specification",
    "MemoryEventLog": "byohpo.study._store",
    "studies_dir": "byohpo.study._store",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from byohpo.study._specification import StudySpecification
    from byohpo.study._store import MemoryEventLog, studies_dir
    from byohpo.study._tuner import Tuner


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'byohpo.study' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
