"""Domain modules (services, validation, queries, models, common) never import Flask."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rlhf_app"
DOMAIN_NAMES = {"service.py", "validation.py", "queries.py", "loader.py", "build.py", "formats.py", "client.py", "registry.py"}
ALLOWED = {PACKAGE / "common" / "decorators.py"}


def domain_modules() -> list[Path]:
    files = [p for p in PACKAGE.rglob("*.py") if p.name in DOMAIN_NAMES]
    files += list((PACKAGE / "models").rglob("*.py")) + list((PACKAGE / "common").rglob("*.py"))
    return sorted(set(files) - ALLOWED)


def flask_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [n for n in names if n.split(".")[0] in ("flask", "flask_login", "flask_wtf", "werkzeug")]
    return found


def test_there_are_domain_modules_to_check():
    assert len(domain_modules()) >= 10


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_domain_module_does_not_import_flask(path: Path):
    assert flask_imports(path) == []
