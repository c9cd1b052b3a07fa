"""Export fixtures: the golden scenario committed, and a helper that runs one export."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from rlhf_app.export.options import ExportOptions
from rlhf_app.export.service import run_export
from rlhf_app.models import ExportRun, Project

from .scenario import build_golden

STAMP = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.timezone.utc)
GOLDEN_SPLIT = {"seed": 1, "test_fraction": 0.4}


@pytest.fixture
def golden(session: Session) -> Project:
    project = build_golden(session)
    session.commit()
    return project


@pytest.fixture
def export_to(session: Session, tmp_path: Path):
    """``export_to(project, format="trl", ...)`` runs an export into tmp_path and returns (run, folder)."""

    def _export(project: Project, now: dt.datetime = STAMP, **options: Any) -> tuple[ExportRun, Path]:
        run = run_export(session, project, ExportOptions(**options), export_dir=tmp_path / "exports", actor=None, now=now)
        session.commit()
        return run, tmp_path / "exports" / run.folder

    return _export


def read_rows(folder: Path, split: str = "train") -> list[dict[str, Any]]:
    import orjson

    return [orjson.loads(line) for line in (folder / f"{split}.jsonl").read_bytes().splitlines()]


def all_rows(folder: Path) -> list[dict[str, Any]]:
    return read_rows(folder, "train") + read_rows(folder, "test")
