"""The table `byohpo run` and `byohpo resume` end with, fitted to the terminal.

``byohpo results`` has every column and row; this shows the columns a user looks at first
(with ``parent_id`` when trials continue others, as in population based training), as
many as the terminal is wide, and the best rows of a large study.
"""

from __future__ import annotations

import contextlib
from typing import Any

from byohpo.errors import ByohpoError

FINAL_ROWS = 20
"""Rows of the table ``byohpo run`` ends with; a larger study shows its best ones."""


def print_outcome(result: Any) -> None:
    import shutil

    table = result.table()
    fitted, note = fit_to_terminal(result, table, shutil.get_terminal_size().columns)
    print(fitted)
    if note:
        print(note)
    with contextlib.suppress(ByohpoError, ValueError):
        best = result.best()
        if hasattr(best, "to_dict"):
            print(
                f"\nbest trial: {best['trial_id']} ({best['job_name']}), "
                f"objective {best['objective']}"
            )
            print("best hyperparameters:", result.best_config())
    if result.stop_reason:
        print(f"study ended: {result.stop_reason}")


def fit_to_terminal(result: Any, table: Any, width: int) -> tuple[str, str]:
    """The columns a user needs first, as many as fit ``width``; a note of what is left out."""
    first = ["trial_id", "generation"]
    if table["parent_id"].notna().any() if "parent_id" in table else False:
        first.append("parent_id")
    first += ["status", *result.objective_columns.values()]
    first += [c for c in result.parameter_columns.values() if c in table]
    first += ["cost"]
    shown = [c for c in dict.fromkeys(first) if c in table]
    rows = table
    row_note = ""
    if len(table) > FINAL_ROWS and "objective" in table:
        ascending = result.study.get("objectives", [{}])[0].get("direction") == "minimize"
        rows = table.sort_values("objective", ascending=ascending, na_position="last")
        rows = rows.head(FINAL_ROWS)
        row_note = f"the best {FINAL_ROWS} of {len(table)} trials"
    text = rows[shown].to_string(index=False)
    while len(shown) > 3 and max(len(line) for line in text.splitlines()) > width:
        shown.pop(-2 if shown[-1] == "cost" and len(shown) > 4 else -1)
        text = rows[shown].to_string(index=False)
    left_out = len(table.columns) - len(shown)
    parts = [p for p in (row_note, f"{left_out} more columns" if left_out else "") if p]
    note = f"({'; '.join(parts)}: `byohpo results {result.name}` shows all)" if parts else ""
    return text, note
