"""The names users import are the ones the packages list; the documentation imports only those."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import byohpo

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted("byohpo." + p.parent.name for p in (ROOT / "byohpo").glob("*/__init__.py"))


@pytest.mark.parametrize("module_name", ["byohpo", *PACKAGES])
def test_every_listed_name_imports(module_name: str) -> None:
    module = importlib.import_module(module_name)
    listed = getattr(module, "__all__", None)
    if listed is None:
        pytest.skip(f"{module_name} lists no public names")
    assert len(listed) == len(set(listed)), f"{module_name}.__all__ repeats a name"
    for name in listed:
        assert getattr(module, name) is not None, f"{module_name}.{name}"


def test_import_byohpo_needs_no_extra() -> None:
    code = (
        "import sys, byohpo; byohpo.Tuner; byohpo.StudyResult; byohpo.MemoryEventLog;"
        "heavy = {'moto', 'optuna', 'nevergrad', 'matplotlib', 'plotly', 'sagemaker', 'torch'};"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _documented_imports() -> list[tuple[str, str, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
            # Examples elide with "..."; their import lines parse on their own.
            lines = [line for line in block.splitlines() if line.startswith("from byohpo")]
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    found.extend((doc.name, node.module, a.name) for a in node.names)
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            lines = [s.strip() for s in cell["source"] if s.startswith("from byohpo")]
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    found.extend((notebook.name, node.module, a.name) for a in node.names)
    return found


def test_documentation_imports_only_public_names() -> None:
    imports = _documented_imports()
    assert imports, "the README's examples import from byohpo"
    private = []
    for doc, module_name, name in imports:
        module = importlib.import_module(module_name)
        listed = getattr(module, "__all__", [])
        if name not in listed:
            private.append(f"{doc}: from {module_name} import {name}")
    assert not private, "documented imports of names no __all__ lists: " + "; ".join(private)


def test_top_level_names_are_the_documented_entry_points() -> None:
    # What a user meets first; each addition belongs in README.md or API.md too.
    readme = (ROOT / "README.md").read_text()
    undocumented = [
        n
        for n in byohpo.__all__
        if n not in {"errors", "stopping", "strategies"} and not re.search(rf"\b{n}\b", readme)
    ]
    assert not undocumented, f"public names the README never mentions: {undocumented}"


def test_an_installed_byohpo_has_every_package() -> None:
    # A wheel holds only the packages pyproject.toml lists; one left out imports in a checkout
    # and fails in a pipeline step's container that installed byohpo from the wheel.
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {"byohpo"} | {
        "byohpo." + ".".join(p.parent.relative_to(ROOT / "byohpo").parts)
        for p in (ROOT / "byohpo").rglob("__init__.py")
        if p.parent != ROOT / "byohpo"
    }
    assert on_disk <= listed, f"packages a wheel would leave out: {sorted(on_disk - listed)}"


SHARED_TYPES = {"errors", "space", "parameters", "objectives", "job", "trial"}


def test_modules_inside_the_packages_are_private() -> None:
    # A package's __init__ is its public face; what a user may import by module path is only the
    # package and the types every layer shares. Everything else may move without notice.
    public = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "byohpo").rglob("*.py")
        if not p.name.startswith("_")
        and not (p.parent == ROOT / "byohpo" and p.stem in SHARED_TYPES)
    ]
    assert not public, f"modules with public names outside the packages' faces: {public}"


def test_the_architecture_guide_points_at_modules_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`(byohpo/[\w/]+\.py)`", text))
    assert len(named) > 20, "the guide names the module answering each question"
    missing = sorted(p for p in named if not (ROOT / p).is_file())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
