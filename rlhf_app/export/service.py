"""Exports: filter, stream and write datasets; record and serve past export folders.

An export folder is written under a temporary name next to its final place and renamed when
every file is complete and fsynced, so a reader never sees half an export. Paths come from the
EXPORT_DIR setting, the project slug and the format name, never from user input; files are
served by ExportRun id and a name from ``FILES``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import __version__
from ..common import audit
from ..common.clock import utcnow
from ..common.errors import NotFound
from ..common.permissions import can_manage_project
from ..db import is_sqlite
from ..models import ExportRun, Project, Role, User
from . import card
from .jsonl import JsonlWriter, dumps_line
from .options import ExportOptions, validate_options
from .queries import Funnel, UndecodableText, experts_below, funnel, iter_task_groups, judgement_conditions
from .rows import RowBuilder, ExportStats
from .splits import SPLITS

SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportPlan:
    """The filters of one export, resolved against the database, and how many rows each leaves."""

    project_id: int
    facts: card.ProjectFacts
    options: ExportOptions
    conditions: list[Any]
    funnel: Funnel

    @property
    def judgements(self) -> int:
        """How many judgements pass every filter (the progress bar's total)."""
        return self.funnel.exported


def plan_export(session: Session, project: Project, options: ExportOptions) -> ExportPlan:
    """Validate the options and resolve the expert filter; raises ValidationError."""
    validate_options(options)
    _begin_snapshot(session)
    excluded = set()
    if options.min_gold_accuracy is not None:
        excluded = experts_below(session, project, options.min_gold_accuracy)
    facts = card.ProjectFacts(project.slug, project.name, project.domain, project.kind.value,
                              project.judgements_per_task, project.review_rate)
    return ExportPlan(project.id, facts, options, judgement_conditions(project, options, excluded),
                      funnel(session, project, options, excluded))


def _begin_snapshot(session: Session) -> None:
    """On PostgreSQL read every stream from one snapshot when the transaction has not begun yet."""
    if not session.in_transaction() and not is_sqlite(session):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def new_builder(plan: ExportPlan) -> RowBuilder:
    """A row builder for the plan's options."""
    return RowBuilder(plan.options, plan.facts.domain)


def iter_rows(session: Session, plan: ExportPlan, builder: RowBuilder, progress: Progress | None = None, *,
              tolerant: bool = True) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(split, rows)`` per task, in task order (``tolerant``: see ``iter_task_groups``)."""
    detailed = plan.options.format == "judgements"
    for group in iter_task_groups(session, plan.project_id, plan.conditions, detailed=detailed, tolerant=tolerant):
        yield builder.rows(group)
        if progress is not None:
            progress(len(group.judgements))


def open_stream(session: Session, project: Project, options: ExportOptions, split: str | None = None) -> Iterator[bytes]:
    """Validate now, then return an iterator of finished JSON lines (about 64 KB per chunk)."""
    plan = plan_export(session, project, options)
    rows = (row for row_split, rows in iter_rows(session, plan, new_builder(plan)) if split in (None, row_split)
            for row in rows)
    return _chunks(rows)


def _chunks(rows: Iterator[dict[str, Any]], size: int = 1 << 16) -> Iterator[bytes]:
    buffer: list[bytes] = []
    buffered = 0
    for row in rows:
        line = dumps_line(row)
        buffer.append(line)
        buffered += len(line)
        if buffered >= size:
            yield b"".join(buffer)
            buffer, buffered = [], 0
    if buffer:
        yield b"".join(buffer)


def run_export(session: Session, project: Project, options: ExportOptions, *, export_dir: Path,
               actor: User | None, now: dt.datetime, progress: Progress | None = None) -> ExportRun:
    """Write ``<export_dir>/<project>/<format>-<UTC stamp>/`` and record it as an ExportRun."""
    plan = plan_export(session, project, options)
    return write_export(session, project, plan, export_dir=export_dir, actor=actor, now=now, progress=progress)


def write_export(session: Session, project: Project, plan: ExportPlan, *, export_dir: Path,
                 actor: User | None, now: dt.datetime, progress: Progress | None = None) -> ExportRun:
    """Write the folder of a planned export atomically (temporary name, then rename)."""
    options = plan.options
    final = _final_folder(Path(export_dir), project.slug, options.format, now)
    temporary = final.parent / f".tmp-{final.name}-{secrets.token_hex(4)}"
    temporary.mkdir(parents=True)
    try:
        stats, files = _write_folder(session, plan, temporary, progress)
        _fsync_dir(temporary)
        os.rename(temporary, final)
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return _record_run(session, project, plan, stats, files, final.relative_to(Path(export_dir).resolve()), actor, now)


def _final_folder(export_dir: Path, slug: str, fmt: str, now: dt.datetime) -> Path:
    """A fresh folder name; a second export in the same second gets ``-2``, ``-3``…"""
    if not SAFE_NAME.match(slug) or not SAFE_NAME.match(fmt):
        raise ValueError(f"unsafe folder name from slug {slug!r} or format {fmt!r}")
    parent = export_dir.resolve() / slug
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate, n = parent / f"{fmt}-{stamp}", 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{fmt}-{stamp}-{n}"
    return candidate


def _write_folder(session: Session, plan: ExportPlan, folder: Path,
                  progress: Progress | None) -> tuple[ExportStats, dict[str, dict[str, Any]]]:
    try:
        stats, files = _write_splits(session, plan, folder, progress, tolerant=False)
    except UndecodableText:  # rare: SQLite holds invalid UTF-8; read everything again, repairing it
        stats, files = _write_splits(session, plan, folder, progress, tolerant=True)
    files["README.md"] = _write_bytes(folder / "README.md",
                                      card.render_card(plan.facts, plan.options, stats, plan.funnel).encode("utf-8"))
    manifest = card.manifest(plan.facts, plan.options, stats, plan.funnel, dict(files), __version__)
    files["manifest.json"] = _write_bytes(folder / "manifest.json", manifest)
    return stats, files


def _write_splits(session: Session, plan: ExportPlan, folder: Path, progress: Progress | None,
                  *, tolerant: bool) -> tuple[ExportStats, dict[str, dict[str, Any]]]:
    """train.jsonl and test.jsonl, with the builder's counts."""
    builder = new_builder(plan)
    writers = {split: JsonlWriter(folder / f"{split}.jsonl") for split in SPLITS}
    try:
        for split, rows in iter_rows(session, plan, builder, progress, tolerant=tolerant):
            if rows:
                writers[split].write_many(rows)
    finally:
        for writer in writers.values():
            writer.close()
    stats = builder.stats
    repaired = sum(w.repaired for w in writers.values())
    if repaired:
        stats.dropped["text_repaired"] = repaired
    return stats, {w.path.name: {"bytes": w.bytes, "rows": w.rows, "sha256": w.sha256} for w in writers.values()}


def _write_bytes(path: Path, data: bytes) -> dict[str, Any]:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _record_run(session: Session, project: Project, plan: ExportPlan, stats: ExportStats,
                files: dict[str, dict[str, Any]], folder: Path, actor: User | None, now: dt.datetime) -> ExportRun:
    run = ExportRun(project_id=project.id, created_by_id=actor.id if actor else None, format=plan.options.format,
                    parameters=plan.options.parameters(), folder=folder.as_posix(), files=files,
                    row_counts=card.counts(stats, plan.funnel), created_at=now, completed_at=max(now, utcnow()))
    session.add(run)
    session.flush()
    audit.record(session, actor, "export.created", run, now=now,
                 after={"project": project.slug, "format": run.format, "folder": run.folder,
                        "train": stats.rows["train"], "test": stats.rows["test"]})
    return run


# --- past exports ---------------------------------------------------------------------------

def list_export_runs(session: Session, user: User, limit: int = 50) -> list[ExportRun]:
    """The newest exports of the projects ``user`` manages (a lab user's workspace; all for admins)."""
    query = sa.select(ExportRun).join(Project, Project.id == ExportRun.project_id)
    if user.role is not Role.admin:
        query = query.where(Project.workspace_id == (user.workspace_id if user.role is Role.lab else -1))
    return list(session.scalars(query.order_by(ExportRun.created_at.desc(), ExportRun.id.desc()).limit(limit)))


def get_export_run(session: Session, user: User, run_id: int) -> ExportRun:
    """The export if ``user`` may manage its project; NotFound otherwise (never 403)."""
    run = session.get(ExportRun, run_id)
    if run is None or not can_manage_project(user, run.project):
        raise NotFound(f"There is no export {run_id}.")
    return run


def export_file_path(export_dir: Path, run: ExportRun, name: str) -> Path:
    """The file ``name`` of ``run``: only names in FILES and in the run, only inside EXPORT_DIR."""
    root = Path(export_dir).resolve()
    if name not in card.FILES or name not in run.files:
        raise NotFound(f"Export {run.id} has no file '{name[:64]}'.")
    path = (root / run.folder / name).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound(f"Export {run.id} has no file '{name[:64]}'.")
    return path


def read_card_body(export_dir: Path, run: ExportRun) -> str:
    """The card's Markdown without its YAML header ("" when the folder is gone)."""
    try:
        text = export_file_path(export_dir, run, "README.md").read_text("utf-8")
    except NotFound:
        return ""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        return text[end + 5:] if end >= 0 else text
    return text
