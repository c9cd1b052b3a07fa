"""The dataset card (README.md) and manifest.json of an export folder.

Both are functions of the exported data and the parameters only: no wall-clock time, host or
user appears in them, so the same database and parameters give byte-identical files. When the
export was made is in the folder name and in the ExportRun row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .formats import SCHEMA_VERSIONS, features_for
from .options import ExportOptions
from .queries import Funnel
from .rows import ExportStats

FILES = ("train.jsonl", "test.jsonl", "README.md", "manifest.json")
DROP_REASONS = {
    "tie": "pairs whose aggregate preference is exactly \"about the same\"",
    "near_tie": "pairs whose aggregate strength is below the tie threshold",
    "no_majority": "pairs without a majority (majority aggregation)",
    "multi_turn_prompt": "pairs whose prompt has earlier turns (OpenAI DPO trains on one-turn prompts only)",
    "answer_both_won_and_lost": "answers that won one comparison and lost another (no KTO label)",
    "duplicate_rewrite": "rewrites identical to another accepted rewrite of the same task",
    "rewrite_identical_to_answer": "rewrite pairs whose rewrite equals the answer it would be compared with",
}
FUNNEL_REASONS = {
    "accepted_status": "judgements not accepted (not yet approved, rejected or returned)",
    "not_gold_task": "judgements on gold (quality-control) tasks",
    "in_date_range": "judgements submitted outside the date range",
    "expert_gold_accuracy": "judgements by experts below the minimum gold accuracy (or without gold judgements)",
}


@dataclass(frozen=True)
class ProjectFacts:
    """What the card says about the project, as plain values."""

    slug: str
    name: str
    domain: str
    kind: str
    judgements_per_task: int
    review_rate: float


def yaml_lines(value: Any, indent: int = 0) -> list[str]:
    """A tiny YAML emitter for dicts, lists, strings (JSON-quoted), numbers, booleans and null."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines += [f"{pad}{key}:", *yaml_lines(item, indent + 2)]
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return lines
    lines = []
    for item in value:
        if not isinstance(item, (dict, list)) or not item:
            lines.append(f"{pad}- {_scalar(item)}")
            continue
        nested = yaml_lines(item, indent + 2)
        lines.append(f"{pad}- {nested[0].lstrip()}")
        lines += nested[1:]
    return lines


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return orjson.dumps(str(value)).decode("utf-8")


def front_matter(project: ProjectFacts, options: ExportOptions, stats: ExportStats) -> str:
    """The YAML header ``datasets.load_dataset(folder)`` reads: features and the split files."""
    splits = [s for s in ("train", "test") if stats.rows[s]] or ["train"]
    header = {
        "pretty_name": f"{project.name} ({options.format})",
        "tags": ["rlhf", "human-feedback", "rlhf-app", options.format],
        "size_categories": [_size_category(sum(stats.rows.values()))],
        "dataset_info": {"features": features_for(options.format, text=options.text, margin=options.margin)},
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"{s}.jsonl"} for s in splits]}],
    }
    lines = ["---", "license:  # left for the lab to fill in before sharing, e.g. cc-by-4.0 or other",
             *yaml_lines(header), "---"]
    return "\n".join(lines) + "\n"


def _size_category(rows: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return label
    return "1M<n<10M"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_card(project: ProjectFacts, options: ExportOptions, stats: ExportStats, funnel: Funnel) -> str:
    """The whole README.md: YAML header, then how the data was made, agreement and what was dropped."""
    sections = [front_matter(project, options, stats), f"# {project.name}: `{options.format}` export\n",
                _collection(project, stats, funnel), _contents(stats), _agreement(stats),
                _dropped(stats, funnel), _usage(options), _parameters(options)]
    return "\n".join(sections)


def _collection(project: ProjectFacts, stats: ExportStats, funnel: Funnel) -> str:
    first, last = funnel.guideline_versions or (None, None)
    versions = "none" if first is None else f"v{first}" if first == last else f"v{first} to v{last}"
    review = (f"{project.review_rate:.0%} of judgements were sampled for review and only approved judgements are "
              "included" if project.review_rate > 0 else "Judgements were not sampled for review; submitted and "
              "approved judgements are included")
    return (
        "## How the data was collected\n\n"
        f"Paid domain experts in **{project.domain}** judged answers to prompts on rlhf-app (project "
        f"`{project.slug}`, {project.kind} tasks, {project.judgements_per_task} judgement(s) per task). Each "
        "expert saw the answers in their own random order, without model names, and gave a preference from "
        "-3 to 3 (or a ranking), rubric scores and a critique per answer, and optionally a rewrite. "
        f"{review}. Guideline versions: {versions}.\n\n"
        f"- Experts: {funnel.experts} (pseudonymous; no identities are exported)\n"
        f"- Domains: {project.domain}\n"
        f"- Models answering: {', '.join(sorted(stats.models)) or 'none'}\n"
        f"- Tasks: {stats.tasks}; judgements used: {stats.judgements}\n"
    )


def _contents(stats: ExportStats) -> str:
    rows = [f"| {s} | {stats.rows[s]} | {len(stats.prompts[s])} |" for s in ("train", "test")]
    empty = ("\n**This export has no rows**: nothing passed the filters below, and `datasets` cannot load an "
             "empty dataset.\n" if not sum(stats.rows.values()) else "")
    return "## Contents\n\n| split | rows | prompts |\n|---|---|---|\n" + "\n".join(rows) + "\n" + empty


def _agreement(stats: ExportStats) -> str:
    agreement = stats.agreement
    return (
        "## Agreement\n\n"
        f"- Krippendorff's alpha (ordinal) on preferences: {_fmt(agreement.alpha())} over {agreement.units} "
        f"units judged by two or more experts ({agreement.pairable_values:g} pairable values). A unit is a "
        "pair of answers; a ranking contributes each pair of its answers, valued by the rank gap capped at 3.\n"
        f"- Units where every expert preferred the same side (or all said \"about the same\"): "
        f"{_fmt(agreement.unanimous_share)}\n"
    )


def _dropped(stats: ExportStats, funnel: Funnel) -> str:
    lines = ["## What was dropped and why\n", "| what | count |", "|---|---|"]
    steps = list(funnel.steps.items())
    for (_, before), (name, after) in zip(steps, steps[1:]):
        if before - after:
            lines.append(f"| {FUNNEL_REASONS[name]} | {before - after} |")
    for reason in sorted(stats.dropped):
        lines.append(f"| {DROP_REASONS.get(reason, reason)} | {stats.dropped[reason]} |")
    if len(lines) == 3:
        lines.append("| nothing | 0 |")
    return "\n".join(lines) + "\n"


def _usage(options: ExportOptions) -> str:
    return (
        "## Format and loading\n\n"
        f"Format `{options.format}`, schema version {SCHEMA_VERSIONS[options.format]}; one JSON object per line "
        "(UTF-8; U+2028, U+2029 and U+0085 are escaped). Splits are by prompt: no prompt is in both.\n\n"
        "```python\nfrom datasets import load_dataset\n\ndataset = load_dataset(\"path/to/this/folder\")\n```\n"
    )


def _parameters(options: ExportOptions) -> str:
    rows = [f"| `{key}` | `{orjson.dumps(value).decode()}` |" for key, value in options.parameters().items()]
    return "## Parameters\n\n| parameter | value |\n|---|---|\n" + "\n".join(rows) + "\n"


def manifest(project: ProjectFacts, options: ExportOptions, stats: ExportStats, funnel: Funnel,
             files: dict[str, dict[str, Any]], app_version: str) -> bytes:
    """manifest.json: parameters, counts and the sha256 of every other file, keys sorted."""
    data = {
        "app_version": app_version, "format": options.format,
        "schema_version": SCHEMA_VERSIONS[options.format], "project": project.slug,
        "parameters": options.parameters(), "counts": counts(stats, funnel), "files": files,
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def counts(stats: ExportStats, funnel: Funnel) -> dict[str, Any]:
    """Row counts and reasons, as stored on the ExportRun row and in the manifest."""
    alpha = stats.agreement.alpha()
    return {
        "train": stats.rows["train"], "test": stats.rows["test"],
        "prompts": {s: len(stats.prompts[s]) for s in ("train", "test")},
        "tasks": stats.tasks, "judgements": stats.judgements, "experts": funnel.experts,
        "filters": funnel.steps, "dropped": dict(sorted(stats.dropped.items())),
        "krippendorff_alpha_ordinal": None if alpha is None else round(alpha, 6),
    }
