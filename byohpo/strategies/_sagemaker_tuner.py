"""SageMaker's own tuner as a strategy: ``sagemaker:bayesian|random|hyperband|grid``.

SageMaker chooses the configurations itself, inside a HyperParameterTuningJob,
so this strategy is never asked: the tuner sees ``runs_on_sagemaker`` and runs
the study as one tuning job (:mod:`byohpo.study._sagemaker_tuning`), recording
each training job SageMaker launches as a trial. What this class owns is the
choice of SageMaker algorithm and SageMaker's limits on the space, checked when
the study is set up, before anything is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from byohpo.errors import StrategyError
from byohpo.objectives import Objective
from byohpo.space import Categorical, Config, Continuous, Integer
from byohpo.strategies import _options as options
from byohpo.strategies._base import Strategy

ALGORITHMS = {"bayesian": "Bayesian", "random": "Random", "hyperband": "Hyperband", "grid": "Grid"}
"""byohpo's name -> SageMaker's ``Strategy`` value."""

MAX_TUNED_HYPERPARAMETERS = 30
MAX_CATEGORICAL_VALUES = 30
MAX_PARALLEL_TRAINING_JOBS = 100
MAX_TRAINING_JOBS = 750
MAX_METRIC_DEFINITIONS = 20
MAX_PARENT_TUNING_JOBS = 5
"""SageMaker's limits on one tuning job (its API reference and service quotas)."""

WARM_START_TYPES = {
    "identical_data_and_algorithm": "IdenticalDataAndAlgorithm",
    "transfer_learning": "TransferLearning",
}
"""byohpo's name -> the ``WarmStartType`` of SageMaker's ``WarmStartConfig``."""


def parse_warm_start_type(value: object) -> str | None:
    """byohpo's name of a warm-start type given as byohpo's name, SageMaker's
    (``"TransferLearning"``, ``"TRANSFER_LEARNING"``) or the SDK's ``WarmStartTypes`` member;
    ``None`` left as it is (byohpo then chooses)."""
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    key = text.replace("_", "").replace("-", "").replace(" ", "").lower()
    for name, api in WARM_START_TYPES.items():
        if key == api.lower():
            return name
    raise StrategyError(
        "warm_start_type is one of SageMaker's warm-start types: "
        + ", ".join(repr(n) for n in WARM_START_TYPES),
        repr(value),
        "Write e.g. warm_start_type='transfer_learning', or leave it out: byohpo chooses "
        "identical_data_and_algorithm when the parents ran the same image on the same data.",
    )


class SageMakerTuner(Strategy):
    """SageMaker's built-in tuner; ``algorithm`` is ``bayesian``, ``random``, ``hyperband`` or
    ``grid``. Name it ``"sagemaker:<algorithm>"``.

    ``hyperband`` takes SageMaker's ``HyperbandStrategyConfig`` as options:
    ``min_resource`` and ``max_resource``, the fewest and most epochs (or other
    resource) a job is given (whole numbers, ``1 <= min_resource <= max_resource``;
    left out, SageMaker chooses, reading ``max_resource`` from an ``epochs``-like
    hyperparameter).

    A warm start (``Tuner(warm_start=[{"tuning_job": ...}])``) becomes the tuning
    job's ``WarmStartConfig``: its parents are told here
    (:meth:`start_from_parents`) before the tuning job is created. The option
    ``warm_start_type`` (``"identical_data_and_algorithm"`` or
    ``"transfer_learning"``) sets its ``WarmStartType``; left out, byohpo chooses
    (see :mod:`byohpo.study._sagemaker_warm_start`).

    On the fake, every algorithm but grid is a documented random stand-in (see
    :mod:`byohpo.fake._tuning_jobs`): a dry run shows the plumbing, not SageMaker's
    search quality.
    """

    name: ClassVar[str] = "sagemaker"
    supports_async: ClassVar[bool] = True
    runs_on_sagemaker: ClassVar[bool] = True
    """The tuner runs a HyperParameterTuningJob instead of asking this strategy."""

    def __init__(
        self,
        *,
        algorithm: str = "bayesian",
        min_resource: int | None = None,
        max_resource: int | None = None,
        warm_start_type: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        key = str(algorithm).strip().lower()
        if key not in ALGORITHMS:
            raise StrategyError(
                f"SageMaker's tuner runs one of {', '.join(repr(a) for a in ALGORITHMS)}",
                repr(algorithm),
                "Write e.g. strategy='sagemaker:bayesian'.",
            )
        self.algorithm = key
        self.warm_start_type = parse_warm_start_type(warm_start_type)
        self.parents: tuple[str, ...] = ()
        self._warm_start_type_used: str | None = None
        owner = "sagemaker:hyperband"
        self.min_resource = options.optional_whole(owner, "min_resource", min_resource, 1)
        self.max_resource = options.optional_whole(owner, "max_resource", max_resource, 1)
        given = {"min_resource": min_resource, "max_resource": max_resource}
        if key != "hyperband" and any(v is not None for v in given.values()):
            raise StrategyError(
                "min_resource and max_resource are options of SageMaker's Hyperband only",
                f"{ {k: v for k, v in given.items() if v is not None} } for 'sagemaker:{key}'",
                "Use strategy='sagemaker:hyperband', or leave them out.",
            )
        if (
            self.min_resource is not None
            and self.max_resource is not None
            and self.min_resource > self.max_resource
        ):
            raise StrategyError(
                "min_resource <= max_resource must hold",
                f"(min_resource={self.min_resource}, max_resource={self.max_resource})",
                "Give each job at least min_resource and at most max_resource epochs.",
            )

    @property
    def sagemaker_strategy(self) -> str:
        """The tuning job's ``Strategy`` (``"Bayesian"``, ...)."""
        return ALGORITHMS[self.algorithm]

    @property
    def options(self) -> dict[str, Any]:
        given = {
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "warm_start_type": self.warm_start_type,
        }
        return {"algorithm": self.algorithm, **{k: v for k, v in given.items() if v}}

    def start_from_parents(self, parents: Sequence[str], warm_start_type: str) -> None:
        """Start the tuning job from ``parents`` (tuning jobs' names, checked by the study)
        with SageMaker's ``warm_start_type`` (``"TransferLearning"``, ...)."""
        if len(parents) > MAX_PARENT_TUNING_JOBS:
            raise StrategyError(
                f"SageMaker's tuner starts from at most {MAX_PARENT_TUNING_JOBS} parent tuning "
                "jobs",
                f"{len(parents)}: {', '.join(parents)}",
                f"Keep the {MAX_PARENT_TUNING_JOBS} best parents in warm_start.",
            )
        if warm_start_type not in WARM_START_TYPES.values():
            raise StrategyError(
                "a WarmStartType is one of " + ", ".join(WARM_START_TYPES.values()),
                repr(warm_start_type),
                "Use warm_start_type='transfer_learning' or 'identical_data_and_algorithm'.",
            )
        self.parents = tuple(parents)
        self._warm_start_type_used = warm_start_type

    def warm_start_config(self) -> dict[str, Any] | None:
        """The tuning job's ``WarmStartConfig`` (None: no warm start)."""
        if not self.parents:
            return None
        return {
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": name} for name in self.parents
            ],
            "WarmStartType": self._warm_start_type_used,
        }

    def strategy_config(self) -> dict[str, Any] | None:
        """The tuning job's ``StrategyConfig`` (Hyperband's resources), if any."""
        resources = {"MinResource": self.min_resource, "MaxResource": self.max_resource}
        given = {k: v for k, v in resources.items() if v is not None}
        return {"HyperbandStrategyConfig": given} if given else None

    def _setup(self) -> None:
        space = self.space
        tuned = space.tunable_names
        if len(tuned) > MAX_TUNED_HYPERPARAMETERS:
            raise StrategyError(
                f"SageMaker's tuner searches at most {MAX_TUNED_HYPERPARAMETERS} hyperparameters",
                f"{len(tuned)} tuned hyperparameters",
                "Fix some of them (Static), or use one of byohpo's strategies.",
            )
        for name in tuned:
            param = space[name]
            if isinstance(param, Categorical) and len(param.values) > MAX_CATEGORICAL_VALUES:
                raise StrategyError(
                    f"{name}: SageMaker's tuner takes at most {MAX_CATEGORICAL_VALUES} values "
                    "per categorical hyperparameter",
                    f"{len(param.values)} values",
                    "Use fewer values, an Integer or Continuous range, or a byohpo strategy.",
                )
            if self.algorithm == "grid" and isinstance(param, Continuous | Integer):
                raise StrategyError(
                    "SageMaker's grid search takes categorical hyperparameters only",
                    f"{name}: {type(param).__name__}",
                    "Make it Categorical (list the values to try), or use 'sagemaker:random'.",
                )

    def grid_size(self) -> int:
        """How many configurations grid search has (1 for the other algorithms' bookkeeping)."""
        size = 1
        for name in self.space.tunable_names:
            param = self.space[name]
            if isinstance(param, Categorical):
                size *= len(param.values)
        return size

    def ask(self, n: int) -> list[Config]:
        raise StrategyError(
            "SageMaker's tuner chooses its configurations itself, inside its tuning job",
            "ask() on the 'sagemaker' strategy",
            "Run it through byohpo.Tuner, which runs the tuning job and records its jobs.",
        )

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Results reach SageMaker's tuner from its own jobs; nothing to learn here."""

    def snapshot(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.algorithm = str(state.get("algorithm", self.algorithm))


def check_tuning_limits(
    strategy: SageMakerTuner,
    objectives: Sequence[Objective],
    max_jobs: int,
    max_parallel_jobs: int,
    metric_names: list[str],
) -> None:
    """SageMaker's limits on a tuning job that the space alone does not show; raises
    :class:`~byohpo.errors.StrategyError` before anything is created."""
    if len(objectives) != 1:
        raise StrategyError(
            "SageMaker's tuner optimizes one objective",
            f"{len(objectives)} objectives",
            "Keep one objective, or use 'nsga2' or 'paes'.",
        )
    if max_parallel_jobs > MAX_PARALLEL_TRAINING_JOBS:
        raise StrategyError(
            f"SageMaker's tuner runs at most {MAX_PARALLEL_TRAINING_JOBS} jobs at once",
            f"max_parallel_jobs={max_parallel_jobs}",
            f"Set max_parallel_jobs <= {MAX_PARALLEL_TRAINING_JOBS}.",
        )
    if max_jobs > MAX_TRAINING_JOBS:
        raise StrategyError(
            f"a SageMaker tuning job launches at most {MAX_TRAINING_JOBS} training jobs",
            f"max_jobs={max_jobs}",
            f"Set max_jobs <= {MAX_TRAINING_JOBS}.",
        )
    if len(metric_names) > MAX_METRIC_DEFINITIONS:
        raise StrategyError(
            f"a SageMaker tuning job takes at most {MAX_METRIC_DEFINITIONS} metric definitions",
            f"{len(metric_names)}",
            "Drop some metric definitions.",
        )
    if strategy.algorithm == "grid" and strategy.grid_size() > max_jobs:
        raise StrategyError(
            "SageMaker's grid search runs every combination of the categorical values",
            f"{strategy.grid_size()} combinations, max_jobs={max_jobs}",
            f"Raise max_jobs to {strategy.grid_size()}, or list fewer values.",
        )
