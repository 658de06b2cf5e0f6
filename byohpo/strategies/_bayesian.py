"""Batch Bayesian optimisation: a Gaussian process over the unit cube, batches by believing it."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from threadpoolctl import threadpool_limits

from byohpo.errors import StrategyError
from byohpo.space import Categorical, Config
from byohpo.strategies import _acquisition as acquisition
from byohpo.strategies import _options as options
from byohpo.strategies._base import PriorTrial, Strategy
from byohpo.strategies._gaussian_process import GaussianProcess, Hyperparameters
from byohpo.strategies._model_features import ModelFeatures
from byohpo.strategies._snapshots import check_header, check_json, header

Array = NDArray[np.float64]

_MIN_INITIAL = 4
_PAREGO_RHO = 0.05
"""Weight of the sum in ParEGO's augmented Chebyshev scalarization."""
_CENTRES = 5
"""Local candidates move around this many of the best points so far."""
_EXPLORE_EVERY = 4
"""Every this-many-th pick of a batch explores: it minimizes a lower confidence bound."""
_EXPLORE_KAPPA = 3.0
"""How many posterior standard deviations the exploring pick subtracts from the mean."""


@dataclass(frozen=True)
class _Observation:
    point: tuple[float, ...]
    scores: tuple[float, ...] | None  # None: the trial failed


def _digest(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class BayesianOptimization(Strategy):
    """Batch Bayesian optimisation with a Gaussian process (numpy and scipy only).

    The model: a Gaussian process (Matérn-5/2 kernel, a length scale per
    feature, fitted noise) over the unit cube, where log-scaled parameters
    are searched in orders of magnitude, integers sit at the centre of their
    bins and each categorical parameter is one-hot (its values are not taken
    to be ordered). Objectives are made robust to outliers by a Yeo-Johnson
    transform before the fit; failed trials count as the worst result seen.

    The first ``initial_points`` configurations (default: the first ``ask``'s
    ``n``, at least 4) are a Latin hypercube; after that every ``ask(n)``
    returns ``n`` distinct configurations chosen one after the other, each
    time believing the model's prediction at the points already chosen and
    at the configurations still running (kriging believer): so a batch
    spreads out, and in asynchronous mode the running jobs are accounted
    for. Three picks in four maximize expected improvement; every fourth
    explores, minimizing the lower confidence bound (mean minus three
    standard deviations), which on landscapes of many local minima keeps the
    search from settling near the first good basin. Each pick searches 1,300 candidates (uniform,
    and moves around the best points) and refines around the most promising.

    With several objectives it is ParEGO: each configuration of a batch
    optimizes a random weighting (augmented Chebyshev) of the objectives,
    each normalized to the range seen so far.

    Decisions depend only on the seed and the results told, in order; the
    snapshot is those observations (and the configurations still running).
    """

    name: ClassVar[str] = "bo"
    supports_async: ClassVar[bool] = True
    supports_multi_objective: ClassVar[bool] = True

    def __init__(self, *, initial_points: int | None = None, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.initial_points = options.optional_whole(
            type(self).__name__, "initial_points", initial_points, 1
        )

    @property
    def options(self) -> dict[str, Any]:
        return {"initial_points": self.initial_points}

    def _setup(self) -> None:
        if all(
            isinstance(self.space[n], Categorical) and len(self.space[n].values) == 1  # type: ignore[union-attr]
            for n in self.space.tunable_names
        ):
            raise StrategyError(
                "the 'bo' strategy needs at least one parameter with more than one possible value",
                f"every tuned parameter has one value: {self.space.tunable_names}",
                "Make a parameter Continuous, Integer or a Categorical of several values, "
                "or run the single configuration with strategy='random' and max_jobs=1.",
            )
        self._features = ModelFeatures(self.space)
        self._base_seed = (
            self.seed if self.seed is not None else random.SystemRandom().getrandbits(63)
        )
        self._initial = self.initial_points
        self._asks = 0
        self._asked = 0
        self._observations: list[_Observation] = []
        self._pending: list[tuple[str, tuple[float, ...]]] = []
        self._seen: set[str] = set()

    # -- ask / tell -------------------------------------------------------------------
    def ask(self, n: int) -> list[Config]:
        """``n`` new configurations: space-filling at first, then by expected improvement."""
        n = self._check_n(n)
        self._require_setup()
        if self._initial is None:
            self._initial = max(n, _MIN_INITIAL)
        rng = np.random.default_rng([self._base_seed, self._asks])
        self._asks += 1
        initial = max(0, min(n, self._initial - self._asked))
        successes = [o for o in self._observations if o.scores is not None]
        if len(successes) < 2:
            initial = n
        points: list[Array] = []
        if initial:
            points += self._space_filling(rng, initial)
        if n - initial:
            with threadpool_limits(limits=1, user_api="blas"):
                points += self._by_model(rng, n - initial, points)
        configs = []
        for point in points:
            config = self.space.from_unit(point.tolist())
            key = self._config_key(config)
            self._seen.add(_digest(key))
            self._pending.append((key, tuple(float(x) for x in point)))
            configs.append(config)
        self._asked += len(configs)
        return configs

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Record an asked configuration's result (``None``: its job failed)."""
        key = self._config_key(config)
        scores = self._scores(metrics)
        for index, (pending_key, point) in enumerate(self._pending):
            if pending_key == key:
                del self._pending[index]
                self._observations.append(
                    _Observation(point, None if scores is None else tuple(scores))
                )
                return
        raise StrategyError(
            "tell() takes a configuration that ask() returned and that was not told yet",
            repr(dict(config)),
            "Tell each asked configuration exactly once, with the dict ask() returned.",
        )

    def warm_start(self, trials: Sequence[PriorTrial]) -> int:
        """Add earlier trials' results to the observations the model is fitted to (they also
        count toward the initial space-filling points, so enough of them skip it)."""
        self._require_setup()
        used = 0
        for trial in trials:
            scores = self._scores(trial.metrics)
            if scores is None:
                continue
            point = self._features.snap(np.array([self.space.to_unit(trial.config)]))[0]
            self._observations.append(_Observation(tuple(float(x) for x in point), tuple(scores)))
            self._seen.add(_digest(self._config_key(trial.config)))
            used += 1
        self._asked += used
        return used

    # -- choosing points ----------------------------------------------------------------
    def _novel(self, point: Array, taken: set[bytes]) -> bool:
        if acquisition.point_key(point) in taken:
            return False
        key = self._config_key(self.space.from_unit(point.tolist()))
        return _digest(key) not in self._seen

    def _taken(self, chosen: list[Array]) -> set[bytes]:
        points = [np.array(o.point) for o in self._observations]
        points += [np.array(p) for _, p in self._pending] + chosen
        return {acquisition.point_key(p) for p in points}

    def _space_filling(self, rng: np.random.Generator, count: int) -> list[Array]:
        """``count`` new points of a Latin hypercube (uniform points if it repeats)."""
        sample = stats.qmc.LatinHypercube(d=self._features.dimension, seed=rng).random(count)
        chosen: list[Array] = []
        taken = self._taken(chosen)
        for point in self._features.snap(sample):
            for _ in range(20):
                if self._novel(point, taken):
                    break
                point = self._features.snap(rng.random((1, self._features.dimension)))[0]
            chosen.append(point)
            taken.add(acquisition.point_key(point))
        return chosen

    def _targets(self, rng: np.random.Generator) -> Array:
        """What the model fits, to minimize: the objective, or a random ParEGO weighting."""
        scores = [o.scores for o in self._observations if o.scores is not None]
        worst = np.min(np.array(scores), axis=0)
        values = np.array([o.scores if o.scores is not None else worst for o in self._observations])
        losses = -values
        if losses.shape[1] > 1:
            low, high = losses.min(axis=0), losses.max(axis=0)
            normalized = (losses - low) / np.where(high > low, high - low, 1.0)
            weights = rng.dirichlet(np.ones(losses.shape[1]))
            weighted = normalized * weights
            target = weighted.max(axis=1) + _PAREGO_RHO * weighted.sum(axis=1)
        else:
            target = losses[:, 0]
        return _standardized(target)

    def _by_model(self, rng: np.random.Generator, count: int, chosen: list[Array]) -> list[Array]:
        features = self._features
        observed = np.array([o.point for o in self._observations])
        x = features.features(observed)
        running = [np.array(p) for _, p in self._pending] + list(chosen)
        hyper: Hyperparameters | None = None
        model: GaussianProcess | None = None
        picks: list[Array] = []
        for _ in range(count):
            if model is None or len(self.objectives) > 1:
                y = self._targets(rng)
                base = GaussianProcess.fit(x, y) if hyper is None else GaussianProcess(x, y, hyper)
                hyper = base.hyper
                model, best = base, float(np.min(y))
                for point in running + picks:  # believe the model where jobs are running
                    f = features.features(point[None, :])
                    model = model.condition(f[0], float(base.predict(f)[0][0]))
                order = np.argsort(y, kind="stable")[:_CENTRES]
                centres = observed[order]
            explore = _EXPLORE_EVERY > 0 and len(picks) % _EXPLORE_EVERY == _EXPLORE_EVERY - 1
            point = self._pick(rng, model, best, centres, chosen + picks, explore)
            mean = float(model.predict(features.features(point[None, :]))[0][0])
            model = model.condition(features.features(point[None, :])[0], mean)
            picks.append(point)
        return picks

    def _pick(
        self,
        rng: np.random.Generator,
        model: GaussianProcess,
        best: float,
        centres: Array,
        chosen: list[Array],
        explore: bool = False,
    ) -> Array:
        features = self._features
        taken = self._taken(chosen)

        def score(points: Array) -> Array:
            if explore:
                return acquisition.confidence_bound(
                    model, features.features(points), _EXPLORE_KAPPA
                )
            return acquisition.expected_improvement(model, features.features(points), best)

        pool = acquisition.candidates(rng, features, centres)
        scores = score(pool)
        top = pool[np.argsort(-scores, kind="stable")[: acquisition.REFINED_CENTRES]]
        extra = acquisition.refined(rng, features, top)
        pool = np.vstack([pool, extra])
        scores = np.concatenate([scores, score(extra)])
        for index in np.argsort(-scores, kind="stable"):
            if self._novel(pool[index], taken):
                return np.asarray(pool[index])
        return self._space_filling(rng, 1)[0]

    # -- persistence ------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The observations told so far, the configurations still running, and the seed."""
        self._require_setup()
        state = header(self.name)
        state.update(
            options=self.options,
            space=self.space.to_json(),
            objectives=[[o.metric, o.direction.value] for o in self.objectives],
            seed=self._base_seed,
            initial_points=self._initial,
            asks=self._asks,
            asked=self._asked,
            observations=[
                [list(o.point), None if o.scores is None else list(o.scores)]
                for o in self._observations
            ],
            pending=[[key, list(point)] for key, point in self._pending],
            seen=sorted(self._seen),
        )
        check_json(state, "the 'bo' strategy's snapshot")
        return state

    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to a state written by :meth:`snapshot` (call after :meth:`setup`)."""
        self._require_setup()
        state = check_header(state, self.name)
        try:
            self._check_snapshot(state)
            self._setup()
            self._base_seed = int(state["seed"])
            initial = state["initial_points"]
            self._initial = None if initial is None else int(initial)
            self._asks = int(state["asks"])
            self._asked = int(state["asked"])
            self._observations = [
                _Observation(
                    tuple(float(x) for x in point),
                    None if scores is None else tuple(float(s) for s in scores),
                )
                for point, scores in state["observations"]
            ]
            self._pending = [
                (str(key), tuple(float(x) for x in point)) for key, point in state["pending"]
            ]
            self._seen = {str(d) for d in state["seen"]}
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, StrategyError):
                raise
            raise StrategyError(
                "a snapshot of the 'bo' strategy must hold everything snapshot() wrote",
                f"{type(exc).__name__}: {exc}",
                "Pass the snapshot unchanged.",
            ) from exc


def _standardized(values: Array) -> Array:
    """Outlier-robust, zero-mean, unit-variance targets (Yeo-Johnson, then standardized)."""
    values = np.asarray(values, dtype=float)
    spread = float(np.std(values))
    if not math.isfinite(spread) or spread <= 0:
        return np.zeros_like(values)
    values = (values - np.mean(values)) / spread
    try:
        transformed = np.asarray(stats.yeojohnson(values)[0], dtype=float)
    except (ValueError, FloatingPointError):  # pragma: no cover - degenerate data
        transformed = values
    if not np.all(np.isfinite(transformed)) or float(np.std(transformed)) <= 0:
        transformed = values
    return (transformed - np.mean(transformed)) / np.std(transformed)
