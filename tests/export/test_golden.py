"""Golden files per format from the fixed scenario, compared byte for byte on every engine.

Regenerate after an intended change with ``RLHF_UPDATE_GOLDEN=1 pytest tests/export/test_golden.py``
and review the diff.
"""
from __future__ import annotations

import os
from pathlib import Path

import jsonschema
import orjson
import pytest

from .conftest import GOLDEN_SPLIT, all_rows
from .schemas import schema_for

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "trl": {"format": "trl", "margin": True, "with_rewrites": True},
    "trl-text": {"format": "trl", "text": True},
    "trl-kto": {"format": "trl-kto", "with_rewrites": True},
    "openai-dpo": {"format": "openai-dpo"},
    "sft": {"format": "sft"},
    "hh-rlhf": {"format": "hh-rlhf"},
    "judgements": {"format": "judgements"},
}


def check_golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("RLHF_UPDATE_GOLDEN"):
        path.write_bytes(actual)
    assert path.exists(), f"{path} is missing; run with RLHF_UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_bytes(), f"{name} differs from its golden file"


@pytest.mark.parametrize("case", list(CASES))
def test_export_matches_its_golden_files(golden, export_to, case):
    _, folder = export_to(golden, **CASES[case], **GOLDEN_SPLIT)
    for split in ("train", "test"):
        check_golden(f"{case}.{split}.jsonl", (folder / f"{split}.jsonl").read_bytes())


def test_dataset_card_matches_its_golden_file(golden, export_to):
    _, folder = export_to(golden, **CASES["trl"], **GOLDEN_SPLIT)
    check_golden("trl.README.md", (folder / "README.md").read_bytes())


@pytest.mark.parametrize("case", list(CASES))
def test_every_row_matches_the_published_schema(golden, export_to, case):
    options = CASES[case]
    _, folder = export_to(golden, **options, **GOLDEN_SPLIT)
    rows = all_rows(folder)
    assert rows, "the scenario must give rows in every format"
    schema = schema_for(options["format"], text=options.get("text", False))
    for row in rows:
        jsonschema.validate(row, schema)
    if options["format"] == "sft":
        assert all(row["messages"][-1]["role"] == "assistant" for row in rows)


def test_golden_scenario_covers_both_splits(golden, export_to):
    run, folder = export_to(golden, **CASES["trl"], **GOLDEN_SPLIT)
    assert run.row_counts["train"] > 0 and run.row_counts["test"] > 0
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert manifest["counts"]["train"] == run.row_counts["train"]
