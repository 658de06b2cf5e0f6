"""A training script as a SageMaker notebook would have: script mode, hyperparameters as flags."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--learning_rate", type=float, default=0.01)
parser.add_argument("--layers", type=int, default=1)
parser.add_argument("--optimizer", type=str, default="sgd")
parser.add_argument("--epochs", type=int, default=1)
args, _ = parser.parse_known_args()

rows = (Path(os.environ["SM_CHANNEL_TRAIN"]) / "data.csv").read_text().splitlines()
# A made-up accuracy that depends on the hyperparameters (best near lr=0.01, 3 layers, adam).
accuracy = 0.9 - 0.02 * (math.log10(args.learning_rate) + 2) ** 2 - 0.01 * (args.layers - 3) ** 2
accuracy += 0.03 if args.optimizer == "adam" else 0.0
accuracy += 0.001 * len(rows)
for epoch in range(args.epochs):
    print(f"epoch {epoch} Train-accuracy={accuracy - 0.05:.4f}")
print(f"Validation-accuracy={accuracy:.4f}")
