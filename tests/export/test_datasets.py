"""Every export folder loads with Hugging Face ``datasets`` as it is, offline, with both splits."""
from __future__ import annotations

import pytest

from .conftest import GOLDEN_SPLIT, read_rows
from .test_golden import CASES


@pytest.fixture
def load_dataset(monkeypatch, tmp_path):
    """``datasets.load_dataset`` with the network off and a private cache."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    datasets.disable_progress_bars()

    def _load(folder):
        return datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))

    return _load


@pytest.mark.parametrize("case", list(CASES))
def test_export_folder_loads_with_datasets(golden, export_to, load_dataset, case):
    run, folder = export_to(golden, **CASES[case], **GOLDEN_SPLIT)
    dataset = load_dataset(folder)
    assert set(dataset) == {"train", "test"}
    for split in ("train", "test"):
        assert dataset[split].num_rows == run.row_counts[split]
        loaded, written = dataset[split][0], read_rows(folder, split)[0]
        if case == "judgements":  # the timestamp comes back as a datetime
            assert loaded.pop("submitted_at").isoformat() == written.pop("submitted_at")
        assert loaded == written


def test_loaded_text_is_exactly_the_stored_text(golden, export_to, load_dataset):
    from .scenario import HOSTILE_ANSWER, HOSTILE_PROMPT

    _, folder = export_to(golden, format="trl", test_fraction=0.0)
    rows = load_dataset(folder)["train"]
    hostile = [row for row in rows if row["prompt"][0]["content"] == HOSTILE_PROMPT]
    assert hostile and hostile[0]["chosen"][0]["content"] == HOSTILE_ANSWER


def test_judgements_load_with_declared_types_even_when_a_split_has_only_nulls(golden, export_to, load_dataset):
    _, folder = export_to(golden, format="judgements", **GOLDEN_SPLIT)
    dataset = load_dataset(folder)
    assert dataset["train"].features == dataset["test"].features
    assert str(dataset["train"].features["submitted_at"].dtype).startswith("timestamp")
