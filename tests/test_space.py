"""The search space as a user meets it: building, validating, sampling, SageMaker forms."""

from __future__ import annotations

import json
import math
import random

import pytest

import byohpo
from byohpo.errors import SearchSpaceError
from byohpo.space import Categorical, Continuous, Integer, SearchSpace, Static, format_value


def digits_space() -> SearchSpace:
    return SearchSpace(
        {
            "learning_rate": Continuous(1e-4, 1e-1, scaling="log"),
            "momentum": Continuous(0.5, 0.999, scaling="reverse_log"),
            "num_epoch": Integer(10, 50),
            "hidden_units": Integer(16, 1024, scaling="log"),
            "optimizer": Categorical(["sgd", "adam"]),
            "batch_size": Static(100),
        }
    )


def test_public_names_are_exported() -> None:
    assert byohpo.SearchSpace is SearchSpace
    assert byohpo.Continuous is Continuous
    for name in byohpo.__all__:
        assert getattr(byohpo, name) is not None


def test_samples_lie_in_the_space_with_the_declared_types() -> None:
    space = digits_space()
    rng = random.Random(0)
    for _ in range(500):
        config = space.sample(rng)
        space.validate(config)
        assert type(config["learning_rate"]) is float
        assert type(config["num_epoch"]) is int
        assert config["optimizer"] in ("sgd", "adam")
        assert config["batch_size"] == 100


def test_log_scale_spreads_samples_over_orders_of_magnitude() -> None:
    space = SearchSpace({"lr": Continuous(1e-4, 1e-1, scaling="log")})
    rng = random.Random(1)
    values = [space.sample(rng)["lr"] for _ in range(2000)]
    below_1e3 = sum(v < 1e-3 for v in values) / len(values)
    assert 0.28 < below_1e3 < 0.39  # a third of the decades lie below 1e-3


def test_reverse_log_concentrates_near_one() -> None:
    space = SearchSpace({"momentum": Continuous(0.0, 0.999, scaling="reverse_log")})
    rng = random.Random(2)
    values = [space.sample(rng)["momentum"] for _ in range(2000)]
    assert sum(v > 0.9 for v in values) / len(values) > 0.6


def test_unit_cube_round_trip_is_deterministic() -> None:
    space = digits_space()
    rng = random.Random(3)
    for _ in range(300):
        config = space.sample(rng)
        point = space.to_unit(config)
        assert all(0.0 <= u <= 1.0 for u in point)
        assert space.from_unit(point) == config
        assert space.from_unit(point) == space.from_unit(list(point))


def test_integers_and_categories_get_equal_shares_of_the_cube() -> None:
    space = SearchSpace({"k": Integer(1, 4), "c": Categorical(["a", "b", "c"])})
    grid = [i / 1000 for i in range(1000)]
    ks = [space.from_unit([u, 0.0])["k"] for u in grid]
    assert [ks.count(k) for k in (1, 2, 3, 4)] == [250, 250, 250, 250]
    assert space.from_unit([1.0, 1.0]) == {"k": 4, "c": "c"}
    assert space.from_unit([-0.5, 1.5]) == {"k": 1, "c": "c"}  # clipped


def test_decoded_floats_read_well_and_round_trip_as_strings() -> None:
    space = SearchSpace({"x": Continuous(0.0, 1.0)})
    config = space.from_unit([0.30000000000000004])
    text = space.hyperparameters(config)["x"]
    assert text == "0.3"
    assert float(text) == config["x"]
    rng = random.Random(4)
    for _ in range(200):
        c = digits_space().sample(rng)
        for name, s in digits_space().hyperparameters(c).items():
            assert len(s) <= 12, (name, s)
            if isinstance(c[name], float):
                assert float(s) == c[name]


def test_values_are_formatted_as_sagemaker_receives_them() -> None:
    assert format_value(True) == "true"
    assert format_value(1e-05) == "1e-05"
    assert format_value(100) == "100"
    assert format_value(0.1) == "0.1"
    assert format_value("adam") == "adam"


def test_json_round_trip() -> None:
    space = digits_space()
    text = json.dumps(space.to_json())
    assert SearchSpace.from_json(text) == space
    assert SearchSpace.from_json(json.loads(text)) == space


def test_sagemaker_parameter_ranges_round_trip() -> None:
    space = digits_space()
    ranges = space.to_sagemaker()
    assert ranges["ContinuousParameterRanges"][0] == {
        "Name": "learning_rate",
        "MinValue": "0.0001",
        "MaxValue": "0.1",
        "ScalingType": "Logarithmic",
    }
    assert ranges["IntegerParameterRanges"][1]["ScalingType"] == "Logarithmic"
    assert ranges["CategoricalParameterRanges"] == [
        {"Name": "optimizer", "Values": ["sgd", "adam"]}
    ]
    assert all(isinstance(v, str) for r in ranges["ContinuousParameterRanges"] for v in r.values())
    back = SearchSpace.from_sagemaker(ranges, static_hyperparameters=space.static_hyperparameters())
    assert back.to_sagemaker() == ranges
    assert back["batch_size"] == Static("100")


def test_sdk_parameter_objects_are_read_by_their_attributes() -> None:
    class ContinuousParameter:
        def __init__(self, lo: float, hi: float, scaling_type: str = "Auto") -> None:
            self.min_value, self.max_value, self.scaling_type = lo, hi, scaling_type

    class IntegerParameter(ContinuousParameter):
        pass

    class CategoricalParameter:
        def __init__(self, values: list[str]) -> None:
            self.values = values

    space = SearchSpace.from_sagemaker(
        {
            "lr": ContinuousParameter(1e-4, 0.1, "Logarithmic"),
            "epochs": IntegerParameter(1, 5),
            "opt": CategoricalParameter(["sgd", "adam"]),
            "layers": CategoricalParameter(["1", "2"]),
        }
    )
    assert space["lr"] == Continuous(1e-4, 0.1, "log")
    assert space["epochs"] == Integer(1, 5)
    assert space["layers"] == Categorical([1, 2])  # numbers stay numbers


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Continuous(1.0, 0.5), "`min < max` must hold, but got (min=1.0, max=0.5)"),
        (lambda: Continuous(0.0, 1.0, scaling="log"), "`min > 0` must hold"),
        (lambda: Continuous(0.5, 1.5, scaling="reverse_log"), "0 <= min < max < 1"),
        (lambda: Continuous(0.0, 1.0, scaling="cubic"), "scaling must be one of"),
        (lambda: Integer(1.5, 3), "'min' must be a whole number"),  # type: ignore[arg-type]
        (lambda: Integer(0, 10, scaling="log"), "`min > 0` must hold"),
        (lambda: Categorical([]), "at least one value"),
        (lambda: Categorical(["a", "a"]), "must be distinct"),
        (lambda: Categorical([1, "1"]), "must be distinct"),
        (lambda: Static([1, 2]), "a Static value must be a string, number or bool"),  # type: ignore[arg-type]
        (lambda: SearchSpace({}), "at least one parameter"),
        (lambda: SearchSpace({"a": Static(1)}), "not Static"),
        (lambda: SearchSpace({"": Integer(1, 2)}), "non-empty"),
        (lambda: SearchSpace({"lr": Integer(1, 2), "LR": Integer(1, 2)}), "letter case"),
        (lambda: SearchSpace({"sagemaker_program": Integer(1, 2)}), "reserved"),
        (lambda: SearchSpace({"x" * 300: Integer(1, 2)}), "at most 256"),
        (lambda: SearchSpace({f"p{i}": Integer(1, 2) for i in range(101)}), "at most 100"),
        (lambda: SearchSpace({"a": [1, 2]}), "must be Static, Continuous"),  # type: ignore[dict-item]
    ],
)
def test_bad_input_is_refused_with_what_must_hold_and_how_to_fix(build, fragment) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SearchSpaceError) as info:
        build()
    message = str(info.value)
    assert fragment in message
    assert isinstance(info.value, ValueError)
    assert message.endswith(".")


def test_study_file_style_parameters_name_the_parameter_in_errors() -> None:
    with pytest.raises(
        SearchSpaceError, match=r"lr: a continuous parameter takes only max, min, scaling"
    ):
        SearchSpace.from_json({"lr": {"type": "continuous", "min": 0.1, "max": 1, "step": 2}})
    with pytest.raises(SearchSpaceError, match=r"lr: Continuous: `min < max`"):
        SearchSpace.from_json({"lr": {"type": "continuous", "min": 1, "max": 0.1}})


def test_configurations_outside_the_space_are_refused() -> None:
    space = digits_space()
    config = space.sample(random.Random(5))
    with pytest.raises(SearchSpaceError, match="must lie in"):
        space.validate({**config, "num_epoch": 500})
    with pytest.raises(SearchSpaceError, match="missing"):
        space.validate({k: v for k, v in config.items() if k != "optimizer"})
    assert math.isfinite(config["learning_rate"])  # type: ignore[arg-type]
