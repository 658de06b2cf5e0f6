"""A Gaussian-process regression model for model-based search (numpy and scipy only).

The model behind :class:`~byohpo.strategies.BayesianOptimization`: a zero-mean
Gaussian process with a Matérn-5/2 kernel, one length scale per input
feature (automatic relevance determination), a signal variance and a noise
variance, all fitted by maximizing the log marginal likelihood (with weak
priors that keep a handful of observations from fitting noise as signal).

Promises: fitting is deterministic (fixed starting points, no random draws),
so the same observations always give the same model; inputs are features in
``[0, 1]`` and targets are standardized by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg, optimize

Array = NDArray[np.float64]

_SQRT5 = math.sqrt(5.0)
_LOG_LENGTH_BOUNDS = (math.log(0.01), math.log(20.0))
_LOG_SIGNAL_BOUNDS = (math.log(0.05), math.log(20.0))
_LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
_LENGTH_PRIOR = (0.0, 1.0)
"""Mean and spread of the log length scales' normal prior: centred on the whole unit range,
so a few results read as a trend, not as ripples (better on rugged problems: docs/benchmarks.md)."""
_NOISE_PRIOR = (math.log(1e-3), 2.0)
_JITTER = 1e-8


@dataclass(frozen=True)
class Hyperparameters:
    """A fitted kernel: length scale per feature, signal variance, noise variance."""

    lengthscales: tuple[float, ...]
    signal: float
    noise: float

    @classmethod
    def from_vector(cls, theta: Array) -> Hyperparameters:
        return cls(tuple(float(x) for x in np.exp(theta[:-2])), *map(float, np.exp(theta[-2:])))


def _scaled_differences(a: Array, b: Array, lengthscales: Array) -> Array:
    """``(a_i - b_j) / l`` for every pair, shape ``(len(a), len(b), features)``."""
    return (a[:, None, :] - b[None, :, :]) / lengthscales


def matern52(a: Array, b: Array, hyper: Hyperparameters) -> Array:
    """The Matérn-5/2 covariance of every pair of rows of ``a`` and ``b`` (no noise)."""
    lengthscales = np.asarray(hyper.lengthscales)
    a, b = a / lengthscales, b / lengthscales
    squared = np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2.0 * (a @ b.T)
    r = np.sqrt(np.maximum(squared, 0.0))
    return hyper.signal * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r**2) * np.exp(-_SQRT5 * r)


def _negative_log_posterior(theta: Array, x: Array, y: Array) -> tuple[float, Array]:
    """Minus (log marginal likelihood + log prior) and its gradient in ``theta``."""
    n = len(y)
    lengthscales = np.exp(theta[:-2])
    signal, noise = np.exp(theta[-2]), np.exp(theta[-1])
    squared = _scaled_differences(x, x, lengthscales) ** 2
    r = np.sqrt(np.sum(squared, axis=-1))
    decay = np.exp(-_SQRT5 * r)
    k_signal = signal * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r**2) * decay
    k = k_signal + (noise + _JITTER) * np.eye(n)
    try:
        factor = linalg.cho_factor(k, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = linalg.cho_solve(factor, y, check_finite=False)
    log_det = 2.0 * np.sum(np.log(np.diag(factor[0])))
    nll = 0.5 * float(y @ alpha) + 0.5 * log_det + 0.5 * n * math.log(2 * math.pi)
    inverse = linalg.cho_solve(factor, np.eye(n), check_finite=False)
    w = np.outer(alpha, alpha) - inverse  # d(log likelihood) = 0.5 tr(w dK)
    common = w * (signal * 5.0 / 3.0 * (1.0 + _SQRT5 * r) * decay)
    grad = np.empty_like(theta)
    grad[:-2] = -0.5 * np.einsum("ij,ijk->k", common, squared)
    grad[-2] = -0.5 * float(np.sum(w * k_signal))
    grad[-1] = -0.5 * noise * float(np.trace(w))
    mean, spread = _LENGTH_PRIOR
    nll += float(np.sum((theta[:-2] - mean) ** 2)) / (2 * spread**2)
    grad[:-2] += (theta[:-2] - mean) / spread**2
    mean, spread = _NOISE_PRIOR
    nll += (theta[-1] - mean) ** 2 / (2 * spread**2)
    grad[-1] += (theta[-1] - mean) / spread**2
    return nll, grad


def fit_hyperparameters(x: Array, y: Array) -> Hyperparameters:
    """The kernel that best explains ``y`` at ``x`` (deterministic: two fixed starts)."""
    d = x.shape[1]
    bounds = [_LOG_LENGTH_BOUNDS] * d + [_LOG_SIGNAL_BOUNDS, _LOG_NOISE_BOUNDS]
    best: tuple[float, Array] | None = None
    for length, noise in ((0.3, 1e-3), (1.0, 0.05)):
        start = np.array([math.log(length)] * d + [0.0, math.log(noise)])
        result = optimize.minimize(
            _negative_log_posterior,
            start,
            args=(x, y),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 40},
        )
        value = float(result.fun)
        if math.isfinite(value) and (best is None or value < best[0]):
            best = (value, np.asarray(result.x, dtype=float))
    theta = best[1] if best is not None else np.array([math.log(0.3)] * d + [0.0, -6.9])
    return Hyperparameters.from_vector(theta)


class GaussianProcess:
    """The posterior of a Gaussian process given observations ``y`` at ``x``.

    Immutable: :meth:`condition` returns a new posterior with one more point.
    """

    def __init__(self, x: Array, y: Array, hyper: Hyperparameters) -> None:
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.hyper = hyper
        k = matern52(self.x, self.x, hyper) + (hyper.noise + _JITTER) * np.eye(len(self.y))
        self._factor = linalg.cho_factor(k, lower=True, check_finite=False)
        self._alpha = linalg.cho_solve(self._factor, self.y, check_finite=False)

    @classmethod
    def fit(cls, x: Array, y: Array) -> GaussianProcess:
        """Fit the kernel to the observations, then condition on them."""
        return cls(x, y, fit_hyperparameters(np.asarray(x, float), np.asarray(y, float)))

    def predict(self, points: Array) -> tuple[Array, Array]:
        """Posterior mean and standard deviation of the latent function at each row of points."""
        cross = matern52(points, self.x, self.hyper)
        mean = cross @ self._alpha
        solved = linalg.solve_triangular(self._factor[0], cross.T, lower=True, check_finite=False)
        variance = np.maximum(self.hyper.signal - np.sum(solved**2, axis=0), 1e-12)
        return mean, np.sqrt(variance)

    def condition(self, point: Array, value: float) -> GaussianProcess:
        """The posterior with one more observation (same kernel)."""
        return GaussianProcess(
            np.vstack([self.x, point[None, :]]), np.append(self.y, value), self.hyper
        )
