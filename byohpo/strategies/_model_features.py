"""Points of the unit cube as a model sees them: integers on their bins, categoricals one-hot.

A vector optimizer's point of ``[0, 1]^d`` decodes to a configuration
(:meth:`~byohpo.space.SearchSpace.from_unit`); many points decode to the same
one. :class:`ModelFeatures` maps whole arrays of points at once to the
point of the configuration they decode to (:meth:`snap`), and to the
features a regression model takes (:meth:`features`): a continuous or
integer parameter is one feature on its own scale (log scales in orders of
magnitude, an integer at the centre of its bin), a categorical parameter of
``k`` values is ``k`` features, one-hot, so no order between its values is
assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from byohpo.space import Categorical, Integer, SearchSpace

Array = NDArray[np.float64]


@dataclass(frozen=True)
class _Column:
    kind: str  # "continuous", "integer" or "categorical"
    size: int = 1  # categories (categorical), else 1
    low: float = 0.0  # integer bin edges on the parameter's scale
    high: float = 1.0
    minimum: int = 0
    maximum: int = 0
    log: bool = False


class ModelFeatures:
    """The feature map of one search space's unit cube (vectorized, deterministic)."""

    def __init__(self, space: SearchSpace) -> None:
        columns = []
        for name in space.tunable_names:
            parameter = space[name]
            if isinstance(parameter, Categorical):
                columns.append(_Column("categorical", size=len(parameter.values)))
            elif isinstance(parameter, Integer):
                log = parameter.scaling == "log"
                low = math.log(parameter.min) if log else float(parameter.min)
                high = math.log(parameter.max + 1) if log else float(parameter.max + 1)
                columns.append(_Column("integer", 1, low, high, parameter.min, parameter.max, log))
            else:
                columns.append(_Column("continuous"))
        self._columns = tuple(columns)
        self.dimension = len(columns)
        self.width = sum(c.size for c in columns)
        """The number of features."""
        self.categorical = tuple(i for i, c in enumerate(columns) if c.kind == "categorical")
        """Indices of the categorical coordinates of a point."""
        self.categories = tuple(c.size for c in columns)

    def snap(self, points: Array) -> Array:
        """Each point moved to the point of the configuration it decodes to (rows: points)."""
        snapped = np.clip(np.asarray(points, dtype=float), 0.0, 1.0).copy()
        for i, column in enumerate(self._columns):
            u = snapped[:, i]
            if column.kind == "categorical":
                k = column.size
                snapped[:, i] = (np.clip(np.floor(u * k), 0, k - 1) + 0.5) / k
            elif column.kind == "integer":
                x = column.low + u * (column.high - column.low)
                if column.log:
                    x = np.exp(x)
                value = np.clip(np.floor(x), column.minimum, column.maximum)
                mid = (np.log(value) + np.log(value + 1)) / 2 if column.log else value + 0.5
                snapped[:, i] = np.clip((mid - column.low) / (column.high - column.low), 0, 1)
        return snapped

    def features(self, points: Array) -> Array:
        """The model's inputs for snapped points: one-hot categoricals, the rest as they are."""
        points = np.asarray(points, dtype=float)
        blocks = []
        for i, column in enumerate(self._columns):
            if column.kind == "categorical":
                index = np.clip(np.floor(points[:, i] * column.size), 0, column.size - 1)
                blocks.append(np.eye(column.size)[index.astype(int)])
            else:
                blocks.append(points[:, i : i + 1])
        return np.hstack(blocks) if blocks else np.empty((len(points), 0))
