"""JSON Schemas of the published row shapes (DESIGN.md §5), strict: no extra keys anywhere.

Sources: TRL "Dataset formats and types" (preference and unpaired preference, conversational and
standard), OpenAI "Direct preference optimization" data format, Anthropic HH-RLHF, and the
``{"messages": [...]}`` chat SFT shape.
"""
from __future__ import annotations

from typing import Any

MESSAGE = {
    "type": "object", "additionalProperties": False, "required": ["role", "content"],
    "properties": {"role": {"enum": ["system", "user", "assistant"]}, "content": {"type": "string"}},
}
MESSAGES = {"type": "array", "minItems": 1, "items": MESSAGE}
PROMPT_MESSAGES = {**MESSAGES, "contains": {"properties": {"role": {"const": "user"}}}}
ONE_ASSISTANT = {
    "type": "array", "minItems": 1, "maxItems": 1,
    "items": {**MESSAGE, "properties": {"role": {"const": "assistant"}, "content": {"type": "string"}}},
}
TRANSCRIPT = {"type": "string", "pattern": "\\n\\nHuman: [\\s\\S]*\\n\\nAssistant: "}
TEXT_PROMPT = {"type": "string", "pattern": "\\n\\nAssistant: $"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": required if required is not None else list(properties)}


TRL = _object({"prompt": PROMPT_MESSAGES, "chosen": ONE_ASSISTANT, "rejected": ONE_ASSISTANT,
               "margin": {"type": "number", "minimum": 0, "maximum": 1}}, ["prompt", "chosen", "rejected"])
TRL_TEXT = _object({"prompt": TEXT_PROMPT, "chosen": {"type": "string"}, "rejected": {"type": "string"},
                    "margin": {"type": "number", "minimum": 0, "maximum": 1}}, ["prompt", "chosen", "rejected"])
TRL_KTO = _object({"prompt": PROMPT_MESSAGES, "completion": ONE_ASSISTANT, "label": {"type": "boolean"}})
TRL_KTO_TEXT = _object({"prompt": TEXT_PROMPT, "completion": {"type": "string"}, "label": {"type": "boolean"}})
OPENAI_DPO = _object({
    "input": _object({"messages": {
        "type": "array", "minItems": 1, "maxItems": 2, "items": MESSAGE,
        "prefixItems": [{"properties": {"role": {"enum": ["system", "user"]}}}],
        "contains": {"properties": {"role": {"const": "user"}}}, "maxContains": 1,
    }}),
    "preferred_output": ONE_ASSISTANT, "non_preferred_output": ONE_ASSISTANT,
})
SFT = _object({"messages": {**MESSAGES, "minItems": 2, "contains": {"properties": {"role": {"const": "user"}}}}})
HH_RLHF = _object({"chosen": TRANSCRIPT, "rejected": TRANSCRIPT})

NULLABLE_INT = {"type": ["integer", "null"]}
RESPONSE = _object({
    "position": {"type": "integer", "minimum": 0, "maximum": 8}, "completion_id": {"type": "integer"},
    "model": {"type": "string"}, "text": {"type": "string"},
    "rubric_scores": {"type": "array", "items": _object({"criterion": {"type": "string"}, "score": {"type": "integer"}})},
    "critique": {"type": ["string", "null"]},
})
JUDGEMENTS = _object({
    "judgement_id": {"type": "integer"}, "task_id": {"type": "integer"}, "prompt_id": {"type": "string"},
    "domain": {"type": "string"}, "context": PROMPT_MESSAGES,
    "responses": {"type": "array", "minItems": 2, "maxItems": 9, "items": RESPONSE},
    "preference": {"type": ["integer", "null"], "minimum": -3, "maximum": 3},
    "ranking": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 1}},
    "display_order": {"type": "array", "items": {"type": "integer"}},
    "expert": {"type": "string", "pattern": "^[a-z]+_"}, "confidence": NULLABLE_INT,
    "rewrite": {"type": ["string", "null"]}, "rewrite_source_position": NULLABLE_INT,
    "flags": {"type": "array", "items": {"enum": ["unsafe", "factual_error", "outside_expertise", "bad_prompt"]}},
    "active_seconds": {"type": "integer", "minimum": 0},
    "status": {"enum": ["submitted", "approved", "rejected", "returned"]},
    "review_verdict": {"enum": ["approve", "reject", "send_back", None]},
    "guideline_version": {"type": "integer", "minimum": 1}, "submitted_at": {"type": ["string", "null"]},
})


def schema_for(fmt: str, *, text: bool = False) -> dict[str, Any]:
    """The schema every row of ``fmt`` must match."""
    if fmt == "trl":
        return TRL_TEXT if text else TRL
    if fmt == "trl-kto":
        return TRL_KTO_TEXT if text else TRL_KTO
    return {"openai-dpo": OPENAI_DPO, "sft": SFT, "hh-rlhf": HH_RLHF, "judgements": JUDGEMENTS}[fmt]
