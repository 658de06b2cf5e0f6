"""The notebook runs top to bottom against the fake, as a reader would run it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "byo_hpo_dry_run.ipynb"


@pytest.mark.slow
def test_the_dry_run_notebook_executes_and_compares_four_strategies_and_sagemakers_tuner() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    for strategy in ("random", "ga", "pso", "paes", "sagemaker:bayesian"):
        assert f"{strategy:>6}: best validation accuracy 0." in printed
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert len(images) >= 2  # the comparison and the parameters
