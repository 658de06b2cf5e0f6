"""The calls a fake AWS account received, by operation: what tests and reports read."""

from __future__ import annotations

import threading
from collections import Counter


class CallCounts:
    """SageMaker calls by operation, other services' by ``"service.Operation"``. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sagemaker: Counter[str] = Counter()
        self._other: Counter[str] = Counter()

    def sagemaker_call(self, operation: str) -> None:
        with self._lock:
            self._sagemaker[operation] += 1

    def other_call(self, service: str, operation: str) -> None:
        with self._lock:
            self._other[f"{service}.{operation}"] += 1

    @property
    def sagemaker(self) -> Counter[str]:
        """A copy of the SageMaker calls, throttled and failed ones included."""
        with self._lock:
            return Counter(self._sagemaker)

    @property
    def other(self) -> Counter[str]:
        """A copy of the calls to other services."""
        with self._lock:
            return Counter(self._other)

    def reset(self) -> None:
        with self._lock:
            self._sagemaker.clear()
            self._other.clear()
