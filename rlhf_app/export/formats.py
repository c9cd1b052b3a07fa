"""Row shapes of each export format (DESIGN.md §5): pure functions from plain values to dicts.

Each builder returns exactly the published shape and nothing more, because trainers and the
OpenAI uploader reject or silently drop unknown columns. The version of each shape is in
``SCHEMA_VERSIONS`` and travels in the manifest and the dataset card, never in the rows.

- ``trl``: TRL's preference type, conversational by default
  (https://huggingface.co/docs/trl/dataset_formats); ``text=True`` gives the standard (string)
  format with the prompt as a Human/Assistant transcript ending in ``"\\n\\nAssistant: "`` so that
  ``prompt + chosen`` is the whole conversation and the answer text stays exactly as stored.
- ``trl-kto``: TRL's unpaired preference type (``prompt``, ``completion``, ``label``).
- ``openai-dpo``: OpenAI's preference fine-tuning line; one-turn prompts only (OpenAI trains on
  one-turn conversations whose preferred and non-preferred messages are the last assistant turn).
- ``sft``: ``{"messages": [...]}`` ending with the expert's rewrite as the assistant turn.
- ``hh-rlhf``: Anthropic HH-RLHF's two whole transcripts.
- ``judgements``: one row per judgement with everything (see ``judgement_row``).
"""
from __future__ import annotations

from typing import Any, Sequence

Message = dict[str, str]

FORMAT_NAMES = ("trl", "trl-kto", "openai-dpo", "sft", "hh-rlhf", "judgements")
# What each format is built from: preference pairs, accepted rewrites, or whole judgements.
FORMAT_SOURCES = {"trl": "pairs", "trl-kto": "labels", "openai-dpo": "pairs", "sft": "rewrites",
                  "hh-rlhf": "pairs", "judgements": "judgements"}
SCHEMA_VERSIONS = {"trl": 1, "trl-kto": 1, "openai-dpo": 1, "sft": 1, "hh-rlhf": 1, "judgements": 1}

HUMAN = "\n\nHuman: "
ASSISTANT = "\n\nAssistant: "


def margin_for(strength: float) -> float:
    """Strength 3 → 1.0, 2 → 0.667, 1 → 0.333 (a mean strength maps on the same line)."""
    return round(abs(strength) / 3, 3)


def normalise_messages(messages: Sequence[dict[str, Any]]) -> list[Message]:
    """Role and content only, in that order, whatever order the database returned the keys in."""
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def assistant(text: str) -> list[Message]:
    return [{"role": "assistant", "content": text}]


def transcript(messages: Sequence[Message]) -> str:
    """HH-RLHF style: a system prompt first, then ``\\n\\nHuman: `` / ``\\n\\nAssistant: `` turns."""
    parts = []
    for message in messages:
        role = message["role"]
        prefix = "" if role == "system" else HUMAN if role == "user" else ASSISTANT
        parts.append(prefix + message["content"])
    return "".join(parts)


def text_prompt(messages: Sequence[Message]) -> str:
    """The prompt as one string that ends where the answer starts."""
    return transcript(messages) + ASSISTANT


def is_single_turn(messages: Sequence[Message]) -> bool:
    """An optional system message and exactly one user message, nothing from the assistant."""
    roles = [m["role"] for m in messages]
    return roles.count("user") == 1 and roles[-1] == "user" and "assistant" not in roles


def trl_row(messages: list[Message], chosen: str, rejected: str, *, text: bool = False,
            margin: float | None = None) -> dict[str, Any]:
    """TRL preference: conversational message lists, or strings with ``text``."""
    if text:
        row: dict[str, Any] = {"prompt": text_prompt(messages), "chosen": chosen, "rejected": rejected}
    else:
        row = {"prompt": messages, "chosen": assistant(chosen), "rejected": assistant(rejected)}
    if margin is not None:
        row["margin"] = margin
    return row


def kto_row(messages: list[Message], completion: str, label: bool, *, text: bool = False) -> dict[str, Any]:
    """TRL unpaired preference: one answer with a desirable (True) or undesirable (False) label."""
    if text:
        return {"prompt": text_prompt(messages), "completion": completion, "label": label}
    return {"prompt": messages, "completion": assistant(completion), "label": label}


def openai_dpo_row(messages: list[Message], chosen: str, rejected: str) -> dict[str, Any]:
    """OpenAI preference fine-tuning; callers skip prompts that are not single-turn."""
    return {"input": {"messages": messages}, "preferred_output": assistant(chosen),
            "non_preferred_output": assistant(rejected)}


def hh_rlhf_row(messages: list[Message], chosen: str, rejected: str) -> dict[str, Any]:
    """Anthropic HH-RLHF: the whole conversation twice, ending with each answer."""
    prompt = text_prompt(messages)
    return {"chosen": prompt + chosen, "rejected": prompt + rejected}


def sft_row(messages: list[Message], rewrite: str) -> dict[str, Any]:
    """Supervised fine-tuning: the prompt followed by the expert's accepted rewrite."""
    return {"messages": [*messages, {"role": "assistant", "content": rewrite}]}


def response_entry(position: int, completion_id: int, model: str, text: str,
                   scores: dict[str, int] | None, critique: str | None) -> dict[str, Any]:
    """One answer of a judgement row, with the expert's rubric scores (sorted by criterion)."""
    rubric = [{"criterion": key, "score": scores[key]} for key in sorted(scores or {})]
    return {"position": position, "completion_id": completion_id, "model": model, "text": text,
            "rubric_scores": rubric, "critique": critique}


def judgement_row(*, judgement_id: int, task_id: int, prompt_id: str, domain: str, context: list[Message],
                  responses: list[dict[str, Any]], preference: int | None, ranking: list[int] | None,
                  display_order: list[int], expert: str, confidence: int | None, rewrite: str | None,
                  rewrite_source_position: int | None, flags: list[str], active_seconds: int, status: str,
                  review_verdict: str | None, guideline_version: int, submitted_at: str | None) -> dict[str, Any]:
    """Everything about one judgement, HelpSteer3-like (``context`` + ``responses`` + preference).

    ``preference`` is -3..3 in canonical order (negative prefers ``responses[0]``); ``ranking``
    gives a rank per response (1 best, equal ranks tie); ``display_order`` lists the canonical
    positions in the order the expert saw them.
    """
    return {
        "judgement_id": judgement_id, "task_id": task_id, "prompt_id": prompt_id, "domain": domain,
        "context": context, "responses": responses, "preference": preference, "ranking": ranking,
        "display_order": display_order, "expert": expert, "confidence": confidence, "rewrite": rewrite,
        "rewrite_source_position": rewrite_source_position, "flags": sorted(flags),
        "active_seconds": active_seconds, "status": status, "review_verdict": review_verdict,
        "guideline_version": guideline_version, "submitted_at": submitted_at,
    }


# --- Hugging Face ``features`` per format, written into the dataset card so every split loads
# with the same types even when a column is null throughout one split.

_STRING = {"dtype": "string"}
_MESSAGES = {"list": [{"name": "role", "dtype": "string"}, {"name": "content", "dtype": "string"}]}


def _feature(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, **spec}


def features_for(fmt: str, *, text: bool = False, margin: bool = False) -> list[dict[str, Any]]:
    """The ``dataset_info.features`` list of the card's YAML header for one format."""
    turns = _STRING if text else _MESSAGES
    if fmt == "trl":
        cols = [_feature("prompt", turns), _feature("chosen", turns), _feature("rejected", turns)]
        return cols + ([_feature("margin", {"dtype": "float64"})] if margin else [])
    if fmt == "trl-kto":
        return [_feature("prompt", turns), _feature("completion", turns), _feature("label", {"dtype": "bool"})]
    if fmt == "openai-dpo":
        return [{"name": "input", "struct": [_feature("messages", _MESSAGES)]},
                _feature("preferred_output", _MESSAGES), _feature("non_preferred_output", _MESSAGES)]
    if fmt == "sft":
        return [_feature("messages", _MESSAGES)]
    if fmt == "hh-rlhf":
        return [_feature("chosen", _STRING), _feature("rejected", _STRING)]
    return _judgement_features()


def _judgement_features() -> list[dict[str, Any]]:
    integer, ints = {"dtype": "int64"}, {"sequence": "int64"}
    response = {"list": [
        _feature("position", integer), _feature("completion_id", integer), _feature("model", _STRING),
        _feature("text", _STRING),
        {"name": "rubric_scores", "list": [_feature("criterion", _STRING), _feature("score", integer)]},
        _feature("critique", _STRING),
    ]}
    return [
        _feature("judgement_id", integer), _feature("task_id", integer), _feature("prompt_id", _STRING),
        _feature("domain", _STRING), _feature("context", _MESSAGES), _feature("responses", response),
        _feature("preference", integer), _feature("ranking", ints), _feature("display_order", ints),
        _feature("expert", _STRING), _feature("confidence", integer), _feature("rewrite", _STRING),
        _feature("rewrite_source_position", integer), _feature("flags", {"sequence": "string"}),
        _feature("active_seconds", integer), _feature("status", _STRING), _feature("review_verdict", _STRING),
        _feature("guideline_version", integer), _feature("submitted_at", {"dtype": "timestamp[us, tz=UTC]"}),
    ]
