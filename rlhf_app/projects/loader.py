"""Reading and validating prompt-set folders (project.toml, prompts.jsonl, completions.jsonl).

Pure parsing: no database. Every problem is collected with its file and line, so a lab sees all
of them at once, and nothing is loaded from a folder that has any.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from ..common.text import text_problem
from ..generate.registry import model_spec_problems

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DOMAIN_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
MAX_CONTENT = 100_000
MAX_MESSAGES = 50
MAX_LINE_BYTES = 1_000_000
MAX_INSTRUCTIONS = 50_000
ROLES = ("system", "user", "assistant")
PROJECT_KEYS = {
    "slug", "name", "domain", "kind", "judgements_per_task", "review_rate", "gold_rate",
    "lease_minutes", "instructions", "pay", "rubric", "models",
}


class LoadError(Exception):
    """The folder cannot be loaded; ``errors`` lists every problem as 'file:line: message'."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} problem(s) found; nothing was loaded.\n" + "\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ProjectSpec:
    slug: str
    name: str
    domain: str
    kind: str
    judgements_per_task: int
    review_rate: float
    gold_rate: float
    lease_minutes: int
    instructions: str
    rubric: dict[str, Any]
    pay_rules: dict[str, Any]
    models: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PromptSpec:
    external_id: str
    messages: list[dict[str, str]]
    tags: list[str]
    meta: dict[str, Any]
    gold: dict[str, Any] | None
    content_hash: str


@dataclass(frozen=True)
class CompletionSpec:
    prompt_id: str
    model: str
    text: str
    content_hash: str
    generation: dict[str, Any] = field(default_factory=dict)


def sha256_json(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def sha256_text(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- the folder -------------------------------------------------------------------------------

def read_folder(folder: Path) -> tuple[ProjectSpec, list[PromptSpec], list[CompletionSpec]]:
    """Parse and validate a whole prompt-set folder or raise ``LoadError`` listing every problem."""
    folder = Path(folder)
    errors: list[str] = []
    if not folder.is_dir():
        raise LoadError([f"{folder}: is not a folder"])
    project = read_project_toml(folder / "project.toml", errors)
    prompts = read_jsonl(folder / "prompts.jsonl", parse_prompt_row, errors, required=True)
    completions = read_jsonl(folder / "completions.jsonl", parse_completion_row, errors, required=False)
    _check_prompt_ids_unique(folder / "prompts.jsonl", prompts, errors)
    _check_completions_match(folder / "completions.jsonl", prompts, completions, errors)
    if project is not None:
        _check_gold(folder / "prompts.jsonl", project, prompts, completions, errors)
    if errors or project is None:
        raise LoadError(errors)
    return project, [p for _, p in prompts], [c for _, c in completions]


def read_jsonl(
    path: Path, parse_row: Callable[[Any], tuple[Any, list[str]]], errors: list[str], *, required: bool,
) -> list[tuple[int, Any]]:
    """Parse each line with ``parse_row``; collect '(file):(line): message' problems in ``errors``."""
    if not path.exists():
        if required:
            errors.append(f"{path}: the file is missing")
        return []
    rows: list[tuple[int, Any]] = []
    for number, raw in _numbered_lines(path, errors):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            errors.append(f"{path}:{number}: not valid JSON ({exc})")
            continue
        row, problems = parse_row(data)
        errors.extend(f"{path}:{number}: {problem}" for problem in problems)
        if not problems:
            rows.append((number, row))
    return rows


def _numbered_lines(path: Path, errors: list[str]) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > MAX_LINE_BYTES:
                errors.append(f"{path}:{number}: the line is {len(raw):,} bytes; the limit is {MAX_LINE_BYTES:,}")
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                errors.append(f"{path}:{number}: not UTF-8 text (byte {exc.start + 1} is invalid)")
                continue
            if raw.strip():
                yield number, raw


# --- project.toml ------------------------------------------------------------------------------

def read_project_toml(path: Path, errors: list[str]) -> ProjectSpec | None:
    if not path.exists():
        errors.append(f"{path}: the file is missing")
        return None
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        errors.append(f"{path}: not UTF-8 text (byte {exc.start + 1} is invalid)")
        return None
    except tomllib.TOMLDecodeError as exc:
        errors.append(f"{path}: not valid TOML ({exc})")
        return None
    problems = project_problems(data)
    errors.extend(f"{path}: {problem}" for problem in problems)
    if problems:
        return None
    return ProjectSpec(
        slug=data["slug"], name=data["name"].strip(), domain=data["domain"], kind=data["kind"],
        judgements_per_task=data.get("judgements_per_task", 1), review_rate=float(data.get("review_rate", 0)),
        gold_rate=float(data.get("gold_rate", 0)), lease_minutes=data.get("lease_minutes", 30),
        instructions=data.get("instructions", "").strip(), rubric={"criteria": data["rubric"]["criteria"]},
        pay_rules=data.get("pay", {}), models=data.get("models", []),
    )


def project_problems(data: dict[str, Any]) -> list[str]:
    """Every problem of a parsed project.toml, each naming the key and the allowed values."""
    problems = [f"unknown key '{key}' (allowed: {', '.join(sorted(PROJECT_KEYS))})" for key in data if key not in PROJECT_KEYS]
    problems += _required_string(data, "slug", SLUG_RE, "3-64 lowercase letters, digits and hyphens")
    problems += _required_string(data, "domain", DOMAIN_RE, "a lowercase word such as finance")
    if not isinstance(data.get("name"), str) or not 1 <= len(data["name"].strip()) <= 200:
        problems.append("'name' must be text of 1-200 characters")
    if data.get("kind") not in ("pairwise", "ranking"):
        problems.append(f"'kind' must be pairwise or ranking, not {data.get('kind')!r}")
    problems += _number_in_range(data, "judgements_per_task", 1, 10, int)
    problems += _number_in_range(data, "review_rate", 0, 1, (int, float))
    problems += _number_in_range(data, "gold_rate", 0, 1, (int, float))
    problems += _number_in_range(data, "lease_minutes", 5, 480, int)
    instructions = data.get("instructions", "")
    problem = text_problem(instructions, max_length=MAX_INSTRUCTIONS, allow_empty=True)
    if problem:
        problems.append(f"'instructions' {problem}")
    problems += pay_problems(data.get("pay", {}))
    problems += rubric_problems(data.get("rubric"))
    problems += models_problems(data.get("models", []))
    return problems


def _required_string(data: dict[str, Any], key: str, pattern: re.Pattern[str], allowed: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        return [f"'{key}' must be {allowed}, not {value!r}"]
    return []


def _number_in_range(data: dict[str, Any], key: str, low: float, high: float, types: Any) -> list[str]:
    if key not in data:
        return []
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, types) or not low <= value <= high:
        return [f"'{key}' must be a number from {low} to {high}, not {value!r}"]
    return []


def pay_problems(pay: Any) -> list[str]:
    if not isinstance(pay, dict):
        return ["'pay' must be a table"]
    problems = []
    unknown = set(pay) - {"hourly_rate_cents", "bonus_rules"}
    problems += [f"unknown key 'pay.{key}'" for key in sorted(unknown)]
    problems += [f"pay.{p}" for p in _number_in_range(pay, "hourly_rate_cents", 0, 10_000_000, int)]
    rules = pay.get("bonus_rules", [])
    if not isinstance(rules, list):
        return problems + ["'pay.bonus_rules' must be a list of tables"]
    for index, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or rule.get("kind") not in ("completion", "quality"):
            problems.append(f"pay.bonus_rules #{index}: 'kind' must be completion or quality")
            continue
        problems += [f"pay.bonus_rules #{index}: {p}" for p in _number_in_range(rule, "amount_cents", 0, 10_000_000, int)]
        problems += [f"pay.bonus_rules #{index}: {p}" for p in _number_in_range(rule, "cap_cents_per_period", 0, 100_000_000, int)]
        for key in ("min_gold_accuracy", "min_approval_rate"):
            problems += [f"pay.bonus_rules #{index}: {p}" for p in _number_in_range(rule, key, 0, 1, (int, float))]
    return problems


def rubric_problems(rubric: Any) -> list[str]:
    if not isinstance(rubric, dict) or not isinstance(rubric.get("criteria"), list):
        return ["'rubric' must have a list of [[rubric.criteria]] tables"]
    criteria = rubric["criteria"]
    if not 1 <= len(criteria) <= 12:
        return [f"the rubric has {len(criteria)} criteria; give 1 to 12"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, criterion in enumerate(criteria, start=1):
        problems += [f"rubric criterion #{index}: {p}" for p in criterion_problems(criterion)]
        key = criterion.get("key") if isinstance(criterion, dict) else None
        if key in seen:
            problems.append(f"rubric criterion #{index}: the key '{key}' is used twice")
        seen.add(key)
    return problems


def criterion_problems(criterion: Any) -> list[str]:
    if not isinstance(criterion, dict):
        return ["must be a table"]
    allowed = {"key", "title", "description", "scale_min", "scale_max", "required", "levels"}
    problems = [f"unknown key '{k}'" for k in criterion if k not in allowed]
    if not isinstance(criterion.get("key"), str) or not KEY_RE.match(criterion["key"]):
        problems.append(f"'key' must be lowercase letters, digits and underscores, not {criterion.get('key')!r}")
    for key, limit in (("title", 200), ("description", 2000)):
        problem = text_problem(criterion.get(key, ""), max_length=limit, allow_empty=key == "description")
        if problem:
            problems.append(f"'{key}' {problem}")
    low, high = criterion.get("scale_min"), criterion.get("scale_max")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or not (0 <= low < high <= 10):
        return problems + [f"'scale_min' and 'scale_max' must be whole numbers with 0 <= min < max <= 10, not {low!r} and {high!r}"]
    if not isinstance(criterion.get("required", True), bool):
        problems.append("'required' must be true or false")
    levels = criterion.get("levels")
    if not isinstance(levels, list) or len(levels) != high - low + 1:
        problems.append(f"'levels' must list {high - low + 1} descriptions, one per level from {low} to {high}")
    elif any(text_problem(level, max_length=1000) for level in levels):
        problems.append("each entry of 'levels' must be non-empty text of at most 1,000 characters")
    return problems


def models_problems(models: Any) -> list[str]:
    """The ``[[models]]`` endpoint registry; detailed checks live in generate/registry.py."""
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        return ["'models' must be a list of [[models]] tables"]
    problems = [f"models #{i}: {p}" for i, m in enumerate(models, start=1) for p in model_spec_problems(m)]
    names = [m.get("name") for m in models]
    problems += [f"models #{i}: the name '{name}' is used twice" for i, name in enumerate(names, start=1)
                 if name in names[: i - 1]]
    return problems


# --- prompts.jsonl and completions.jsonl --------------------------------------------------------

def parse_prompt_row(data: Any) -> tuple[PromptSpec | None, list[str]]:
    if not isinstance(data, dict):
        return None, ["each line must be a JSON object"]
    allowed = {"external_id", "messages", "tags", "metadata", "gold"}
    problems = [f"unknown field '{k}' (allowed: {', '.join(sorted(allowed))})" for k in data if k not in allowed]
    problems += _external_id_problems(data.get("external_id"), "external_id")
    problems += messages_problems(data.get("messages"))
    tags = data.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 32 or any(text_problem(t, max_length=64) for t in tags):
        problems.append("'tags' must be a list of at most 32 short texts (64 characters each)")
    meta = data.get("metadata", {})
    if not isinstance(meta, dict) or len(orjson.dumps(meta)) > 20_000:
        problems.append("'metadata' must be a JSON object of at most 20,000 bytes")
    gold = data.get("gold")
    if gold is not None:
        problems += gold_shape_problems(gold)
    if problems:
        return None, problems
    messages = [{"role": m["role"], "content": m["content"]} for m in data["messages"]]
    return PromptSpec(
        external_id=data["external_id"], messages=messages, tags=list(tags), meta=meta, gold=gold,
        content_hash=sha256_json({"messages": messages}),
    ), []


def _external_id_problems(value: Any, name: str) -> list[str]:
    problem = text_problem(value, max_length=128)
    if problem:
        return [f"'{name}' {problem}"]
    if value != value.strip():
        return [f"'{name}' must not start or end with spaces"]
    return []


def messages_problems(messages: Any) -> list[str]:
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return [f"'messages' must be a list of 1-{MAX_MESSAGES} messages"]
    problems: list[str] = []
    for index, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or set(message) - {"role", "content"}:
            problems.append(f"message {index} must be an object with 'role' and 'content' only")
            continue
        role = message.get("role")
        if role not in ROLES or (role == "system" and index != 1):
            problems.append(f"message {index}: role must be user or assistant (system only first), not {role!r}")
        problem = text_problem(message.get("content"), max_length=MAX_CONTENT)
        if problem:
            problems.append(f"message {index}: 'content' {problem}")
    if not problems and messages[-1]["role"] != "user":
        problems.append("the last message must come from the user")
    return problems


def gold_shape_problems(gold: Any) -> list[str]:
    if not isinstance(gold, dict) or set(gold) - {"better_model", "strength", "explanation"}:
        return ["'gold' must be an object with better_model, strength and explanation"]
    problems = []
    if text_problem(gold.get("better_model"), max_length=128):
        problems.append("'gold.better_model' must name a model")
    strength = gold.get("strength")
    if isinstance(strength, bool) or strength not in (1, 2, 3):
        problems.append(f"'gold.strength' must be 1, 2 or 3, not {strength!r}")
    if text_problem(gold.get("explanation", ""), max_length=5000, allow_empty=True):
        problems.append("'gold.explanation' must be text of at most 5,000 characters")
    return problems


def parse_completion_row(data: Any) -> tuple[CompletionSpec | None, list[str]]:
    if not isinstance(data, dict):
        return None, ["each line must be a JSON object"]
    allowed = {"prompt_id", "model", "text", "generation"}
    problems = [f"unknown field '{k}' (allowed: {', '.join(sorted(allowed))})" for k in data if k not in allowed]
    problems += _external_id_problems(data.get("prompt_id"), "prompt_id")
    problems += _external_id_problems(data.get("model"), "model")
    problem = text_problem(data.get("text"), max_length=MAX_CONTENT)
    if problem:
        problems.append(f"'text' {problem}")
    generation = data.get("generation", {})
    if not isinstance(generation, dict) or len(orjson.dumps(generation)) > 20_000:
        problems.append("'generation' must be a JSON object of at most 20,000 bytes")
    if problems:
        return None, problems
    return CompletionSpec(data["prompt_id"], data["model"], data["text"], sha256_text(data["text"]), generation), []


def _check_prompt_ids_unique(path: Path, prompts: list[tuple[int, PromptSpec]], errors: list[str]) -> None:
    first_line: dict[str, int] = {}
    for number, prompt in prompts:
        if prompt.external_id in first_line:
            errors.append(f"{path}:{number}: external_id '{prompt.external_id}' is already used on line {first_line[prompt.external_id]}")
        else:
            first_line[prompt.external_id] = number


def _check_completions_match(
    path: Path, prompts: list[tuple[int, PromptSpec]], completions: list[tuple[int, CompletionSpec]], errors: list[str],
) -> None:
    known = {p.external_id for _, p in prompts}
    seen: dict[tuple[str, str], int] = {}
    for number, completion in completions:
        key = (completion.prompt_id, completion.model)
        if completion.prompt_id not in known:
            errors.append(f"{path}:{number}: prompt_id '{completion.prompt_id}' is not in prompts.jsonl")
        elif key in seen:
            errors.append(f"{path}:{number}: model '{completion.model}' already has a completion for '{completion.prompt_id}' (line {seen[key]})")
        seen.setdefault(key, number)


def _check_gold(
    path: Path, project: ProjectSpec, prompts: list[tuple[int, PromptSpec]],
    completions: list[tuple[int, CompletionSpec]], errors: list[str],
) -> None:
    models_by_prompt: dict[str, set[str]] = {}
    for _, completion in completions:
        models_by_prompt.setdefault(completion.prompt_id, set()).add(completion.model)
    for number, prompt in prompts:
        if prompt.gold is None:
            continue
        if project.kind != "pairwise":
            errors.append(f"{path}:{number}: 'gold' is only supported on pairwise projects")
        elif prompt.gold["better_model"] not in models_by_prompt.get(prompt.external_id, set()):
            errors.append(f"{path}:{number}: gold better_model '{prompt.gold['better_model']}' has no completion for this prompt")
