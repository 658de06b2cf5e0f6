"""Choosing a batch of points from a Gaussian-process model: candidates, expected improvement.

Everything here is deterministic given the random generator passed in, and
works on points of the unit cube snapped to the configurations they decode
to (:class:`~byohpo.strategies._model_features.ModelFeatures`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

from byohpo.strategies._gaussian_process import GaussianProcess
from byohpo.strategies._model_features import ModelFeatures

Array = NDArray[np.float64]

UNIFORM_CANDIDATES = 512
LOCAL_CANDIDATES = 768
REFINED_CENTRES = 8
REFINED_PER_CENTRE = 32
LOCAL_STEPS = (0.01, 0.04, 0.15)
"""Standard deviations of the moves around good points, in fractions of each range."""


def expected_improvement(model: GaussianProcess, features: Array, best: float) -> Array:
    """The log of the expected improvement below ``best`` (a finite, comparable score).

    Where the improvement underflows, the score keeps the order of the
    standardized gap, so the least hopeless point still wins.
    """
    mean, std = model.predict(features)
    z = (best - mean) / std
    log_tail = special.log_ndtr(z)
    # EI = std * (z Phi(z) + phi(z)); for very negative z its asymptote, in logs
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.log(
            np.maximum(z * np.exp(log_tail) + np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi), 1e-300)
        )
        asymptotic = -0.5 * z**2 - np.log(np.sqrt(2 * np.pi)) - 2.0 * np.log(np.abs(z) + 1e-300)
    log_ei = np.where(z > -6.0, direct, asymptotic)
    return np.asarray(log_ei + np.log(std), dtype=float)


def confidence_bound(model: GaussianProcess, features: Array, kappa: float) -> Array:
    """Minus the lower confidence bound ``mean - kappa * std`` (higher is better, as for EI)."""
    mean, std = model.predict(features)
    return np.asarray(kappa * std - mean, dtype=float)


def candidates(rng: np.random.Generator, features: ModelFeatures, centres: Array) -> Array:
    """Uniform points plus moves around ``centres`` (good points so far), snapped."""
    d = features.dimension
    uniform = rng.random((UNIFORM_CANDIDATES, d))
    parts = [uniform]
    if len(centres):
        parts.append(_moves(rng, features, centres, LOCAL_CANDIDATES, np.array(LOCAL_STEPS)))
    return features.snap(np.vstack(parts))


def refined(rng: np.random.Generator, features: ModelFeatures, centres: Array) -> Array:
    """Small moves around the most promising candidates, snapped."""
    steps = np.array([0.005, 0.02])
    return features.snap(_moves(rng, features, centres, REFINED_PER_CENTRE * len(centres), steps))


def _moves(
    rng: np.random.Generator, features: ModelFeatures, centres: Array, count: int, steps: Array
) -> Array:
    picks = rng.integers(0, len(centres), count)
    scale = steps[rng.integers(0, len(steps), count)][:, None]
    moved = centres[picks] + scale * rng.standard_normal((count, features.dimension))
    if features.categorical:
        columns = list(features.categorical)
        flip = rng.random((count, len(columns))) < 1.0 / max(features.dimension, 2)
        fresh = rng.random((count, len(columns)))
        moved[:, columns] = np.where(flip, fresh, centres[picks][:, columns])
    return np.clip(moved, 0.0, 1.0)


def best_new(scores: Array, points: Array, taken: set[bytes]) -> int | None:
    """The index of the best-scoring point not in ``taken`` (by :func:`point_key`)."""
    for index in np.argsort(-scores, kind="stable"):
        if point_key(points[index]) not in taken:
            return int(index)
    return None


def point_key(point: Array) -> bytes:
    """A snapped point as a hashable key (points of one configuration share it)."""
    return np.round(np.asarray(point, dtype=float), 9).tobytes()
