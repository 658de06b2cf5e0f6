"""The package's size against issue 11's limits: no module over 500 lines, no class over 300.

Walks every module under ``byohpo/`` (its syntax tree, so a class's lines run
from its ``class`` line to its last statement, docstring included) and prints
the modules flat at the top of the package, the largest module and class, and
every module or class over its limit. ``--check`` exits 1 when one is over.

    .venv/bin/python -m benchmarks.code_size [--check] [--root byohpo]
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

MODULE_LIMIT = 500
CLASS_LIMIT = 300


@dataclass(frozen=True)
class Size:
    """A module or class and its length in lines."""

    name: str
    lines: int


def measure(root: Path) -> tuple[list[Size], list[Size]]:
    """Every module and every class under ``root``, each with its length in lines."""
    modules: list[Size] = []
    classes: list[Size] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        modules.append(Size(str(path), len(text.splitlines())))
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                classes.append(Size(f"{path}:{node.name}", node.end_lineno - node.lineno + 1))
    return modules, classes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("byohpo"))
    parser.add_argument("--check", action="store_true", help="exit 1 when a limit is exceeded")
    args = parser.parse_args(argv)
    modules, classes = measure(args.root)
    if not modules:
        print(f"no Python modules under {args.root}", file=sys.stderr)
        return 2
    top = [m for m in modules if Path(m.name).parent == args.root]
    largest_module = max(modules, key=lambda s: s.lines)
    print(f"modules: {len(modules)}, {len(top)} flat at the top of {args.root}/")
    print(f"largest module: {largest_module.name} ({largest_module.lines} lines)")
    if classes:
        largest_class = max(classes, key=lambda s: s.lines)
        print(f"largest class: {largest_class.name} ({largest_class.lines} lines)")
    over = [f"module {m.name}: {m.lines}" for m in modules if m.lines > MODULE_LIMIT]
    over += [f"class {c.name}: {c.lines}" for c in classes if c.lines > CLASS_LIMIT]
    limits = f"{MODULE_LIMIT} a module, {CLASS_LIMIT} a class"
    print(f"over the limits ({limits}): {len(over) or 'none'}")
    for line in over:
        print(f"  {line}")
    return 1 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
