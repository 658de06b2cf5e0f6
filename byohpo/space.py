"""The search space: named hyperparameters, the unit cube, and SageMaker's range forms.

A :class:`SearchSpace` maps names to parameters (:mod:`byohpo.parameters`).
Tunable parameters each own one dimension of the unit cube ``[0, 1]^d`` that
vector optimizers search; :class:`Static` values ride along unchanged. The
space reads and writes SageMaker's ``ParameterRanges``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from byohpo.errors import SearchSpaceError
from byohpo.parameters import (
    MAX_HYPERPARAMETERS,
    MAX_NAME_LENGTH,
    MAX_VALUE_LENGTH,
    SIGNIFICANT_DIGITS,
    Categorical,
    Config,
    Continuous,
    Integer,
    Parameter,
    Scaling,
    Static,
    Tunable,
    Value,
    check_hyperparameter_name,
    format_value,
    parameter_from_json,
    round_significant,
)

__all__ = [
    "MAX_HYPERPARAMETERS",
    "MAX_NAME_LENGTH",
    "MAX_VALUE_LENGTH",
    "SIGNIFICANT_DIGITS",
    "Categorical",
    "Config",
    "Continuous",
    "Integer",
    "Parameter",
    "Scaling",
    "SearchSpace",
    "Static",
    "Tunable",
    "Value",
    "check_hyperparameter_name",
    "format_value",
    "parameter_from_json",
    "round_significant",
]

_SAGEMAKER_SCALING = {"linear": "Linear", "log": "Logarithmic", "reverse_log": "ReverseLogarithmic"}


_SDK_RANGES = frozenset({"ContinuousParameter", "IntegerParameter", "CategoricalParameter"})
"""The SageMaker SDK's range classes (v2 ``sagemaker.parameter``, v3 ``sagemaker.core.parameter``),
read by their attributes."""


def configuration_key(hyperparameters: Mapping[str, str]) -> str:
    """A configuration's identity: its hyperparameters as SageMaker receives them, as one
    string. Two configurations are the same trial exactly when their keys are equal."""
    return json.dumps(dict(hyperparameters), sort_keys=True)


class SearchSpace(Mapping[str, Parameter]):
    """Named hyperparameters: what a strategy may choose, and how.

    ``SearchSpace({"lr": Continuous(1e-4, 0.1, scaling="log"), "batch_size": Static(100)})``.
    A plain string, number or bool is taken as :class:`Static`; the SageMaker SDK's
    ``ContinuousParameter``, ``IntegerParameter`` and ``CategoricalParameter`` are
    taken as their byohpo counterparts. The space is
    immutable and validates itself when built.
    """

    def __init__(self, parameters: Mapping[str, Parameter | Value]) -> None:
        if not isinstance(parameters, Mapping):
            raise SearchSpaceError(
                "a SearchSpace is built from a dict of name -> parameter",
                type(parameters).__name__,
                'Write SearchSpace({"learning_rate": Continuous(1e-4, 0.1)}).',
            )
        if not parameters:
            raise SearchSpaceError(
                "a SearchSpace needs at least one parameter", "{}", "Add a parameter to search."
            )
        if len(parameters) > MAX_HYPERPARAMETERS:
            raise SearchSpaceError(
                f"SageMaker accepts at most {MAX_HYPERPARAMETERS} hyperparameters per job",
                f"{len(parameters)}",
                "Fix some values in the training script instead.",
            )
        params: dict[str, Parameter] = {}
        folded: dict[str, str] = {}
        for name, param in parameters.items():
            check_hyperparameter_name(name)
            if name.lower() in folded:
                raise SearchSpaceError(
                    "hyperparameter names must differ in more than letter case",
                    f"{folded[name.lower()]!r} and {name!r}",
                    "Rename one of them.",
                )
            folded[name.lower()] = name
            if isinstance(param, str | int | float | bool):
                param = Static(param)
            elif type(param).__name__ in _SDK_RANGES:
                param = _from_sdk_parameter(name, param)
            if not isinstance(param, Static | Continuous | Integer | Categorical):
                raise SearchSpaceError(
                    f"{name}: a parameter must be Static, Continuous, Integer or Categorical",
                    f"{param!r}",
                    "Wrap it, e.g. Continuous(0.001, 0.1).",
                )
            params[name] = param
        self._params = params
        self._tunable = [n for n, p in params.items() if not isinstance(p, Static)]
        if not self._tunable:
            raise SearchSpaceError(
                "a SearchSpace needs at least one parameter that is not Static",
                f"only static values {list(params)}",
                "Add a Continuous, Integer or Categorical parameter.",
            )

    # -- mapping ----------------------------------------------------------------
    def __getitem__(self, name: str) -> Parameter:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n!r}: {p!r}" for n, p in self._params.items())
        return f"SearchSpace({{{inner}}})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self._params == other._params

    def __hash__(self) -> int:
        return hash(tuple(self._params.items()))

    # -- the unit cube --------------------------------------------------------------
    @property
    def tunable_names(self) -> list[str]:
        """Names of the parameters that own a dimension of the unit cube, in order."""
        return list(self._tunable)

    @property
    def dimension(self) -> int:
        """Number of dimensions of the unit cube (tunable parameters)."""
        return len(self._tunable)

    def from_unit(self, point: Sequence[float]) -> Config:
        """Decode a point of ``[0, 1]^dimension`` into a full configuration (statics included).

        Deterministic; coordinates outside ``[0, 1]`` are clipped.
        """
        if len(point) != len(self._tunable):
            raise SearchSpaceError(
                f"a point of this space has {len(self._tunable)} coordinates",
                f"{len(point)}",
                f"Give one per tunable parameter: {self._tunable}.",
            )
        coords = dict(zip(self._tunable, point, strict=True))
        config: Config = {}
        for name, param in self._params.items():
            if isinstance(param, Static):
                config[name] = param.value
            else:
                config[name] = param.decode(float(coords[name]))
        return config

    def to_unit(self, config: Mapping[str, Value]) -> list[float]:
        """Encode a configuration into the unit cube (the centre of its integer/category bin)."""
        self.validate(config)
        return [self._params[n].encode(config[n]) for n in self._tunable]  # type: ignore[union-attr, arg-type]

    def sample(self, rng: random.Random) -> Config:
        """Draw a configuration: uniform on each parameter's scale."""
        return self.from_unit([rng.random() for _ in self._tunable])

    def validate(self, config: Mapping[str, Value]) -> None:
        """Raise :class:`SearchSpaceError` unless ``config`` is a configuration of this space."""
        missing = [n for n in self._params if n not in config]
        extra = [n for n in config if n not in self._params]
        if missing or extra:
            raise SearchSpaceError(
                "a configuration must name exactly the parameters of the space",
                f"missing {missing}, unknown {extra}",
                "Return a value for every parameter, and nothing else.",
            )
        for name, param in self._params.items():
            value = config[name]
            if isinstance(param, Static):
                if format_value(value) != format_value(param.value):
                    raise SearchSpaceError(
                        f"{name} is Static({param.value!r})",
                        repr(value),
                        "Leave static values as they are.",
                    )
            elif not param.contains(value):
                raise SearchSpaceError(
                    f"{name} must lie in {param.to_json()}",
                    repr(value),
                    "Return a value inside the space.",
                )

    def hyperparameters(self, config: Mapping[str, Value]) -> dict[str, str]:
        """The configuration as SageMaker receives it: every value a string."""
        return {name: format_value(config[name]) for name in self._params}

    # -- JSON and SageMaker forms ------------------------------------------------------
    def to_json(self) -> dict[str, dict[str, Any]]:
        """A JSON-ready dict; :meth:`from_json` reads it back to an equal space."""
        return {name: param.to_json() for name, param in self._params.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, Any]] | str) -> SearchSpace:
        """Read the form written by :meth:`to_json` (a dict, or its JSON text)."""
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, Mapping):
            raise SearchSpaceError(
                "a search space in JSON is an object of parameters", repr(data), None
            )
        return cls({name: parameter_from_json(spec, name) for name, spec in data.items()})

    def to_sagemaker(self) -> dict[str, list[dict[str, Any]]]:
        """The ``ParameterRanges`` of SageMaker's CreateHyperParameterTuningJob API.

        Static values are not ranges: pass :meth:`static_hyperparameters` to the
        training job instead.
        """
        ranges: dict[str, list[dict[str, Any]]] = {
            "ContinuousParameterRanges": [],
            "IntegerParameterRanges": [],
            "CategoricalParameterRanges": [],
        }
        for name, p in self._params.items():
            if isinstance(p, Continuous):
                ranges["ContinuousParameterRanges"].append(
                    {
                        "Name": name,
                        "MinValue": format_value(p.min),
                        "MaxValue": format_value(p.max),
                        "ScalingType": _SAGEMAKER_SCALING[p.scaling],
                    }
                )
            elif isinstance(p, Integer):
                ranges["IntegerParameterRanges"].append(
                    {
                        "Name": name,
                        "MinValue": str(p.min),
                        "MaxValue": str(p.max),
                        "ScalingType": _SAGEMAKER_SCALING[p.scaling],
                    }
                )
            elif isinstance(p, Categorical):
                ranges["CategoricalParameterRanges"].append(
                    {"Name": name, "Values": [format_value(v) for v in p.values]}
                )
        return ranges

    def static_hyperparameters(self) -> dict[str, str]:
        """The static values, as the strings SageMaker passes to every job."""
        return {n: format_value(p.value) for n, p in self._params.items() if isinstance(p, Static)}

    @classmethod
    def from_sagemaker(
        cls,
        ranges: Mapping[str, Any],
        static_hyperparameters: Mapping[str, Value] | None = None,
    ) -> SearchSpace:
        """Build a space from SageMaker's ranges.

        ``ranges`` is either the API's ``ParameterRanges`` JSON
        (``{"ContinuousParameterRanges": [...], ...}``) or the SageMaker SDK's
        ``hyperparameter_ranges`` dict of ``ContinuousParameter``,
        ``IntegerParameter`` and ``CategoricalParameter`` objects. The SDK is
        not imported: its objects are read by their attributes.
        """
        params: dict[str, Parameter | Value] = {}
        api_keys = {
            "ContinuousParameterRanges",
            "IntegerParameterRanges",
            "CategoricalParameterRanges",
            "AutoParameters",
        }
        if ranges and set(ranges) <= api_keys:
            for r in ranges.get("ContinuousParameterRanges", []):
                params[r["Name"]] = Continuous(
                    _parse_float(r, "MinValue"),
                    _parse_float(r, "MaxValue"),
                    r.get("ScalingType", "Auto"),
                )
            for r in ranges.get("IntegerParameterRanges", []):
                params[r["Name"]] = Integer(
                    int(_parse_float(r, "MinValue")),
                    int(_parse_float(r, "MaxValue")),
                    r.get("ScalingType", "Auto"),
                )
            for r in ranges.get("CategoricalParameterRanges", []):
                params[r["Name"]] = Categorical([_parse_scalar(v) for v in r["Values"]])
            if ranges.get("AutoParameters"):
                raise SearchSpaceError(
                    "AutoParameters (SageMaker Autotune) cannot be imported",
                    ranges["AutoParameters"],
                    "Give explicit ranges instead.",
                )
        else:
            for name, obj in ranges.items():
                params[name] = _from_sdk_parameter(name, obj)
        for name, value in (static_hyperparameters or {}).items():
            if name in params:
                raise SearchSpaceError(
                    "a hyperparameter cannot be both tuned and static",
                    repr(name),
                    "Drop one of the two.",
                )
            params[name] = Static(value)
        return cls(params)


def _parse_float(r: Mapping[str, Any], key: str) -> float:
    try:
        return float(r[key])
    except (KeyError, TypeError, ValueError):
        raise SearchSpaceError(
            f"parameter range {r.get('Name')!r}: {key} must be a number", repr(r.get(key)), None
        ) from None


def _parse_scalar(text: Any) -> Value:
    """Categorical values come from SageMaker as strings; keep numbers as numbers."""
    if not isinstance(text, str):
        return text
    try:
        number = json.loads(text)
    except ValueError:
        return text
    if (
        isinstance(number, int | float)
        and not isinstance(number, bool)
        and format_value(number) == text
    ):
        return number
    return text


def _from_sdk_parameter(name: str, obj: Any) -> Parameter | Value:
    if isinstance(obj, Static | Continuous | Integer | Categorical | str | int | float | bool):
        return obj
    kind = type(obj).__name__
    scaling: Any = getattr(obj, "scaling_type", "Auto")
    if kind == "ContinuousParameter":
        low, high = (_sdk_number(name, kind, obj, f, float) for f in ("min_value", "max_value"))
        return Continuous(low, high, scaling)
    if kind == "IntegerParameter":
        low, high = (_sdk_number(name, kind, obj, f, int) for f in ("min_value", "max_value"))
        return Integer(int(low), int(high), scaling)
    if kind == "CategoricalParameter":
        values = getattr(obj, "values", None)
        if not isinstance(values, list | tuple) or not values:
            raise SearchSpaceError(
                f"{name}: a CategoricalParameter's values must be a non-empty list of plain values",
                repr(values)[:200],
                "Give the values themselves (not a SageMaker Pipelines variable).",
            )
        return Categorical([_parse_scalar(v) for v in values])
    raise SearchSpaceError(
        f"{name}: a SageMaker range must be a ContinuousParameter, IntegerParameter "
        "or CategoricalParameter",
        kind,
        "Use one of the SageMaker SDK's parameter classes, or a byohpo parameter.",
    )


def _sdk_number(name: str, kind: str, obj: Any, field_name: str, to: type) -> float:
    value = getattr(obj, field_name, None)
    try:
        return float(to(value))
    except (TypeError, ValueError):
        raise SearchSpaceError(
            f"{name}: the {kind}'s {field_name} must be a number byohpo can read now",
            f"{value!r} ({type(value).__name__})",
            "Give a plain number (SageMaker Pipelines variables are resolved only by the SDK).",
        ) from None
