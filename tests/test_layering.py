"""Dependencies point one way: flows → warehouse → parsers (checked with `ast`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "parsers": {"httpx", "prefect", "duckdb", "flows", "warehouse"},
    "warehouse": {"prefect", "httpx", "flows"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upper_layers(package: str) -> None:
    folder = ROOT / package
    assert folder.is_dir(), f"{package}/ is part of the design card"
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in folder.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
