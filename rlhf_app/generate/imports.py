"""Importing completions produced elsewhere, with the prompt loader's rules: all or nothing.

A file (``rlhf completions import``) or a request body (``POST .../completions``, JSONL or a JSON
array) is parsed row by row with ``parse_completion_row``; every problem is reported with its
line, and nothing is stored when there is any.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import orjson
from sqlalchemy.orm import Session

from ..common import audit
from ..common.errors import ValidationError
from ..models import CompletionSource, Project, User
from ..projects.loader import MAX_LINE_BYTES, CompletionSpec, parse_completion_row, read_jsonl
from ..projects.service import LoadResult, add_completions

Numbered = list[tuple[str, CompletionSpec]]  # ("file:line" or "line N", spec)


def read_completions_file(path: Path) -> Numbered:
    """Parse a completions JSONL file; raise ValidationError with every 'file:line: problem'."""
    errors: list[str] = []
    rows = read_jsonl(Path(path), parse_completion_row, errors, required=True)
    _raise_if(errors)
    return [(f"{path}:{number}", spec) for number, spec in rows]


def parse_completions_body(body: bytes, *, is_json_array: bool) -> Numbered:
    """Parse a request body (JSONL, or a JSON array when ``is_json_array``); ValidationError lists every problem."""
    errors: list[str] = []
    rows = [(f"item {i}", item) for i, item in enumerate(_json_array(body, errors), start=1)] if is_json_array \
        else list(_jsonl_rows(body, errors))
    parsed: Numbered = []
    for where, data in rows:
        spec, problems = parse_completion_row(data)
        errors += [f"{where}: {p}" for p in problems]
        if spec is not None:
            parsed.append((where, spec))
    if not rows and not errors:
        errors.append("the body holds no completions")
    _raise_if(errors)
    return parsed


def _json_array(body: bytes, errors: list[str]) -> list[Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        errors.append(f"the body is not valid JSON ({exc})")
        return []
    if not isinstance(data, list):
        errors.append("a JSON body must be an array of completion objects")
        return []
    return data


def _jsonl_rows(body: bytes, errors: list[str]) -> Iterable[tuple[str, Any]]:
    for number, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            errors.append(f"line {number}: the line is {len(raw):,} bytes; the limit is {MAX_LINE_BYTES:,}")
            continue
        try:
            yield f"line {number}", orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            errors.append(f"line {number}: not valid JSON ({exc})")


def import_completions(session: Session, project: Project, rows: Numbered, *, actor: User | None = None) -> LoadResult:
    """Store the parsed completions of ``project``; identical ones are skipped, any problem stores nothing."""
    _raise_if(_duplicate_problems(rows))
    result = LoadResult(project=project)
    add_completions(session, project, [spec for _, spec in rows], None, result, CompletionSource.imported)
    _raise_if(result.errors)
    audit.record(session, actor, "completions.imported", project,
                 after={"added": result.completions_added, "unchanged": result.completions_unchanged})
    return result


def _duplicate_problems(rows: Numbered) -> list[str]:
    first: dict[tuple[str, str], str] = {}
    problems = []
    for where, spec in rows:
        key = (spec.prompt_id, spec.model)
        if key in first:
            problems.append(f"{where}: model '{spec.model}' already has a completion for '{spec.prompt_id}' ({first[key]})")
        first.setdefault(key, where)
    return problems


def _raise_if(errors: list[str]) -> None:
    if errors:
        exc = ValidationError({"lines": "\n".join(errors)}, message=f"{len(errors)} problem(s) found; nothing was imported.")
        exc.details["errors"] = errors
        raise exc
