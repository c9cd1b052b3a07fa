"""The generation domain modules never import Flask (views, forms and the RQ glue may)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ..test_layering import PACKAGE, flask_imports

FLASK_AWARE = {"views.py", "forms.py", "jobs.py"}
MODULES = sorted(p for p in (PACKAGE / "generate").glob("*.py") if p.name not in FLASK_AWARE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_generation_module_does_not_import_flask(path: Path):
    assert flask_imports(path) == []


def test_only_client_py_imports_openai():
    importers = [p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py") if "import openai" in p.read_text("utf-8")]
    assert importers == [Path("generate/client.py")]
