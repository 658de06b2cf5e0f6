r"""Train a small neural network (an MLP) on handwritten digits: a SageMaker training script.

It runs on SageMaker's scikit-learn container, or locally as the container would run it::

    python digits_mlp.py --learning_rate 0.01 --optimizer sgd --num_epoch 10

Hyperparameters arrive as command-line arguments (see ``parse_args``). Everything else comes
from the environment SageMaker sets:

* ``SM_CHANNEL_TRAIN`` and ``SM_CHANNEL_VALIDATION``: CSV files, one example per line, no
  header, the label (0-9) first and then the 64 pixel values (0-16) of an 8x8 image; every
  ``*.csv`` file in the channel is read. Without a train channel the script uses
  scikit-learn's bundled digits data with a fixed split (1,437 for training, 360 for
  validation); without a validation channel it holds out 20% of the train channel.
  ``prepare_data.py`` writes the bundled data in this layout.
* ``SM_MODEL_DIR``: the trained model is saved there as ``model.joblib``.
* ``SM_OUTPUT_DATA_DIR``: ``history.json``, the metrics of every epoch.
* ``SM_CHECKPOINT_DIR`` (default ``/opt/ml/checkpoints``, SageMaker's checkpoint path): after
  every epoch the script saves ``checkpoint.joblib`` (the network's weights, the optimizer's
  state and the epoch reached) and ``checkpoint.json`` (epoch, hyperparameters, origin, metrics).
  When a checkpoint is there at start, training resumes from it: ``num_epoch`` is the total
  number of epochs, so only the remaining ones are trained. The checkpoint may come from
  another job (a warm start, as in population based training): the weights and the optimizer
  state carry over, and this job's hyperparameters apply from the next epoch on.

Metrics are printed one per line: for each epoch ``Epoch[3] Train-accuracy=0.912345``, then
``Train-loss``, ``Validation-accuracy`` and ``Validation-loss`` likewise; at the end the same
values again as ``Final Validation-accuracy=0.961111`` (so the last value is the final one)
and ``train:seconds=0.812``, the wall time of the epochs this job trained. The metric
definitions that read them::

    metric_definitions = {
        "train:accuracy": r"Train-accuracy=([0-9\.]+)",
        "train:loss": r"Train-loss=([0-9\.]+)",
        "validation:accuracy": r"Validation-accuracy=([0-9\.]+)",
        "validation:loss": r"Validation-loss=([0-9\.]+)",
        "train:seconds": r"train:seconds=([0-9\.]+)",
    }

Bad hyperparameters end the job with exit status 2 and a message saying what must hold.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

# A small network trains fastest on one core, and several jobs sharing a machine must not
# compete for its cores. Set before numpy is imported; a job's environment can still override.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

CLASSES = np.arange(10)
PIXEL_MAX = 16.0
CHECKPOINT_STATE = "checkpoint.joblib"
CHECKPOINT_INFO = "checkpoint.json"
# Hyperparameters that fix the network's shape: a checkpoint can only be continued with these.
ARCHITECTURE = ("hidden_units", "activation")


class HyperparameterError(ValueError):
    """A hyperparameter value this script cannot train with."""


# ----------------------------------------------------------------------------------------------
# Hyperparameters


def _number(
    kind: type, name: str, low: float, high: float = math.inf, low_open: bool = False
) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` within [low, high] (or (low, high])."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            # Accept "10.0" for an integer: some tools write every number as a float.
            try:
                as_float = float(text)
            except ValueError:
                as_float = math.nan
            if kind is not int or not as_float.is_integer():
                raise argparse.ArgumentTypeError(
                    f"{name} must be {'an integer' if kind is int else 'a number'}, got {text!r}"
                ) from None
            value = int(as_float)
        too_low = value <= low if low_open else value < low
        if not math.isfinite(value) or too_low or value > high:
            bound = f"> {low}" if low_open else f">= {low}"
            if high < math.inf:
                bound += f" and <= {high}"
            raise argparse.ArgumentTypeError(f"{name} must be {bound}, got {text!r}")
        return value

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[str], str]:
    """An argparse type: one of ``choices``, case-insensitive ("Adam" is "adam")."""

    def parse(text: str) -> str:
        if text.lower() not in choices:
            raise argparse.ArgumentTypeError(
                f"{name} must be one of {', '.join(choices)}; got {text!r}"
            )
        return text.lower()

    parse.__name__ = name
    return parse


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser that also leaves its error message where SageMaker looks for it."""

    def error(self, message: str) -> NoReturn:
        write_failure_reason(f"bad hyperparameters: {message}", echo=False)
        super().error(message)  # prints the usage and the message, exits with status 2


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        description="Train an MLP on the digits data (a SageMaker training script).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,  # "--learning_rat" is a typo, not --learning_rate
    )
    hp = parser.add_argument_group("hyperparameters")
    hp.add_argument(
        "--learning_rate",
        type=_number(float, "learning_rate", 0.0, 10.0, low_open=True),
        default=0.01,
        help="initial learning rate of the optimizer",
    )
    hp.add_argument(
        "--num_epoch",
        "--epochs",
        dest="num_epoch",
        type=_number(int, "num_epoch", 1, 10_000),
        default=10,
        help="total number of passes over the training data (counting resumed epochs)",
    )
    hp.add_argument(
        "--optimizer", type=_choice("optimizer", ("sgd", "adam")), default="sgd", help="sgd or adam"
    )
    hp.add_argument(
        "--batch_size", type=_number(int, "batch_size", 1, 100_000), default=32, help="batch size"
    )
    hp.add_argument(
        "--hidden_units",
        type=_number(int, "hidden_units", 1, 4096),
        default=64,
        help="units of the hidden layer",
    )
    hp.add_argument(
        "--activation",
        type=_choice("activation", ("relu", "tanh", "logistic")),
        default="relu",
        help="activation of the hidden layer",
    )
    hp.add_argument(
        "--alpha", type=_number(float, "alpha", 0.0, 10.0), default=1e-4, help="L2 penalty"
    )
    hp.add_argument(
        "--momentum",
        type=_number(float, "momentum", 0.0, 1.0),
        default=0.9,
        help="momentum of sgd (unused by adam)",
    )
    hp.add_argument(
        "--seed",
        type=_number(int, "seed", 0, 2**32 - 1),
        default=1,
        help="seed of the initial weights and of the shuffling",
    )

    env = parser.add_argument_group("SageMaker environment")
    env.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    env.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    env.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    env.add_argument(
        "--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    )
    env.add_argument(
        "--checkpoint-dir", default=os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")
    )
    return parser


HYPERPARAMETERS = (
    "learning_rate",
    "num_epoch",
    "optimizer",
    "batch_size",
    "hidden_units",
    "activation",
    "alpha",
    "momentum",
    "seed",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # SageMaker passes every hyperparameter of the job: a name this script does not know is
        # most likely a typo, which would otherwise silently train with the default.
        parser.error(
            f"unknown argument(s) {' '.join(unknown)}; "
            f"the hyperparameters are {', '.join(HYPERPARAMETERS)}"
        )
    return args


def hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in HYPERPARAMETERS}


# ----------------------------------------------------------------------------------------------
# Data


def read_channel(directory: str) -> tuple[np.ndarray, np.ndarray]:
    """Read every CSV file of a channel: label first, then the pixel values, no header."""
    files = sorted(Path(directory).rglob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no .csv file in channel directory {directory}")
    tables = [np.loadtxt(path, delimiter=",", ndmin=2) for path in files]
    table = np.concatenate(tables)
    labels = table[:, 0]
    if not np.all(np.isin(labels, CLASSES)):
        raise ValueError(f"labels in {directory} must be integers 0-9 (the first column)")
    return table[:, 1:] / PIXEL_MAX, labels.astype(np.int64)


def load_data(
    train_dir: str | None, validation_dir: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_validation, y_validation)`` from the channels, or the bundled data."""
    if train_dir:
        x, y = read_channel(train_dir)
        print(f"Read {len(y)} training examples from {train_dir}", flush=True)
    else:
        digits = load_digits()
        x, y = digits.data / PIXEL_MAX, digits.target.astype(np.int64)
        print("No train channel: using scikit-learn's bundled digits data", flush=True)
    if validation_dir:
        x_val, y_val = read_channel(validation_dir)
        print(f"Read {len(y_val)} validation examples from {validation_dir}", flush=True)
        return x, y, x_val, y_val
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=0
    )
    return x_train, y_train, x_val, y_val


# ----------------------------------------------------------------------------------------------
# Model and checkpoints


def estimator_settings(hp: dict[str, Any]) -> dict[str, Any]:
    """The MLPClassifier parameters for these hyperparameters."""
    return {
        "hidden_layer_sizes": (hp["hidden_units"],),
        "activation": hp["activation"],
        "solver": hp["optimizer"],
        "learning_rate_init": hp["learning_rate"],
        "batch_size": hp["batch_size"],
        "alpha": hp["alpha"],
        "momentum": hp["momentum"],
    }


def epoch_seed(seed: int, epoch: int) -> int:
    """The random state of one epoch (initial weights for epoch 1, then the shuffling).

    Derived from the seed and the epoch alone, so a resumed run shuffles exactly as an
    uninterrupted one.
    """
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def origin_id() -> str:
    return os.environ.get("TRAINING_JOB_NAME", "local")


def save_checkpoint(
    directory: Path,
    model: MLPClassifier,
    epoch: int,
    hp: dict[str, Any],
    metrics: dict[str, float],
) -> None:
    """Save the training state, then a small JSON describing it; each file atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    origin = origin_id()
    state = {"model": model, "epoch": epoch, "hyperparameters": hp, "origin": origin}
    _write_atomically(directory / CHECKPOINT_STATE, lambda path: joblib.dump(state, path))
    info = {
        "epoch": epoch,
        "hyperparameters": hp,
        "origin": origin,
        "metrics": metrics,
        "state_file": CHECKPOINT_STATE,
        "script": Path(__file__).name,
    }
    _write_atomically(
        directory / CHECKPOINT_INFO,
        lambda path: path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n"),
    )


def _write_atomically(path: Path, write: Any) -> None:
    """Write to a temporary name beside ``path``, then rename: readers see old or new, whole."""
    temporary = path.with_name(f".{path.name}.tmp")
    write(temporary)
    os.replace(temporary, path)


def load_checkpoint(directory: Path) -> dict[str, Any] | None:
    """The saved state in ``directory``, or None when there is none."""
    path = directory / CHECKPOINT_STATE
    if not path.is_file():
        return None
    try:
        state = joblib.load(path)
    except Exception as error:
        raise RuntimeError(f"cannot read the checkpoint {path}: {error}") from error
    if not isinstance(state, dict) or not isinstance(state.get("model"), MLPClassifier):
        raise RuntimeError(f"{path} is not a checkpoint of {Path(__file__).name}")
    return state


def continue_with(model: MLPClassifier, saved: dict[str, Any], hp: dict[str, Any]) -> list[str]:
    """Apply this job's hyperparameters to a model restored from a checkpoint.

    Returns a description of what changed. The network's shape cannot change.
    """
    for name in ARCHITECTURE:
        if saved[name] != hp[name]:
            raise HyperparameterError(
                f"the checkpoint was trained with {name}={saved[name]}, this job asks for "
                f"{name}={hp[name]}; a checkpoint can only be continued with the same "
                f"{' and '.join(ARCHITECTURE)} (or start from an empty checkpoint directory)"
            )
    changes = [
        f"{name} {saved[name]} -> {hp[name]}"
        for name in HYPERPARAMETERS
        if name != "num_epoch" and name in saved and saved[name] != hp[name]
    ]
    model.set_params(**estimator_settings(hp))
    # scikit-learn keeps the optimizer (its momentum or Adam moments) in `_optimizer` and
    # copies the learning rate and momentum into it when it is created.
    optimizer = getattr(model, "_optimizer", None)
    if optimizer is not None:
        if saved["optimizer"] != hp["optimizer"]:
            del model._optimizer  # a new optimizer starts with the next epoch
            changes.append("optimizer state reset")
        else:  # keep the optimizer's state, with this job's settings
            optimizer.learning_rate_init = optimizer.learning_rate = hp["learning_rate"]
            if hp["optimizer"] == "sgd":
                optimizer.momentum = hp["momentum"]
    return changes


def evaluate(model: MLPClassifier, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(accuracy, cross-entropy loss)`` of the model on ``x``, ``y``."""
    probabilities = model.predict_proba(x)
    accuracy = accuracy_score(y, model.classes_[np.argmax(probabilities, axis=1)])
    return float(accuracy), float(log_loss(y, probabilities, labels=model.classes_))


def print_metric(name: str, value: float, epoch: int | None = None) -> None:
    """One metric per line, in plain decimal notation so ``([0-9\\.]+)`` parses it."""
    prefix = "Final" if epoch is None else f"Epoch[{epoch}]"
    print(f"{prefix} {name}={value:.6f}", flush=True)


# ----------------------------------------------------------------------------------------------
# Training


def train(args: argparse.Namespace) -> dict[str, float]:
    """Train (or resume training) for ``num_epoch`` epochs; return the final metrics."""
    hp = hyperparameters(args)
    x_train, y_train, x_val, y_val = load_data(args.train, args.validation)
    if x_val.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"the validation data has {x_val.shape[1]} features per example, "
            f"the training data {x_train.shape[1]}"
        )

    def measure() -> dict[str, float]:
        train_accuracy, train_loss = evaluate(model, x_train, y_train)
        val_accuracy, val_loss = evaluate(model, x_val, y_val)
        return {
            "Train-accuracy": train_accuracy,
            "Train-loss": train_loss,
            "Validation-accuracy": val_accuracy,
            "Validation-loss": val_loss,
        }

    checkpoint_dir = Path(args.checkpoint_dir)
    saved = load_checkpoint(checkpoint_dir)
    if saved is None:
        model = MLPClassifier(**estimator_settings(hp))
        start_epoch = 0
    else:
        model, start_epoch = saved["model"], int(saved["epoch"])
        print(
            f"Resumed from checkpoint at epoch={start_epoch} (origin={saved['origin']})",
            flush=True,
        )
        for change in continue_with(model, saved["hyperparameters"], hp):
            print(f"Changed since the checkpoint: {change}", flush=True)

    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(start_epoch + 1, hp["num_epoch"] + 1):
        model.set_params(random_state=epoch_seed(hp["seed"], epoch))
        try:
            model.partial_fit(x_train, y_train, classes=CLASSES)
        except ValueError as error:
            if "non-finite" not in str(error):
                raise
            raise RuntimeError(
                f"training diverged in epoch {epoch} (the weights are no longer finite); "
                f"try a learning_rate smaller than {hp['learning_rate']}"
            ) from None
        metrics = measure()
        # Saved before it is reported: an epoch the tuner has read can always be resumed from,
        # even when a stop arrives right after the line is printed.
        save_checkpoint(checkpoint_dir, model, epoch, hp, metrics)
        for name, value in metrics.items():
            print_metric(name, value, epoch)
        history.append({"epoch": epoch, **metrics})
    seconds = time.perf_counter() - started

    if history:
        metrics = history[-1]
    else:
        print(f"Nothing left to train: num_epoch={hp['num_epoch']} reached", flush=True)
        metrics = measure()
    for name in ("Train-accuracy", "Validation-accuracy", "Validation-loss"):
        print_metric(name, metrics[name])
    print(f"train:seconds={seconds:.3f}", flush=True)

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    output_dir = Path(args.output_data_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = {"hyperparameters": hp, "epochs": history, "train_seconds": seconds}
    (output_dir / "history.json").write_text(json.dumps(summary, indent=2) + "\n")
    return metrics


def model_fn(model_dir: str) -> MLPClassifier:
    """Load the model: the function SageMaker's scikit-learn serving container calls."""
    return joblib.load(Path(model_dir) / "model.joblib")


def write_failure_reason(message: str, echo: bool = True) -> None:
    """Print why the job fails, and leave it where SageMaker takes a job's failure reason."""
    if echo:
        print(f"Error: {message}", file=sys.stderr, flush=True)
    output_dir = os.environ.get("SM_OUTPUT_DIR")
    if output_dir and Path(output_dir).is_dir():
        (Path(output_dir) / "failure").write_text(message + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # exits with status 2 and a message on bad hyperparameters
    print(f"Hyperparameters: {json.dumps(hyperparameters(args), sort_keys=True)}", flush=True)
    try:
        train(args)
    except HyperparameterError as error:
        write_failure_reason(f"bad hyperparameters: {error}")
        return 2
    except (OSError, RuntimeError, ValueError) as error:
        write_failure_reason(str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
