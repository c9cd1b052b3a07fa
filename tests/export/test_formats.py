"""Row builders and the JSON Lines encoding (pure: no database)."""
from __future__ import annotations

import json

import jsonschema
import orjson
import pytest

from rlhf_app.export import formats as fmt
from rlhf_app.export.jsonl import JsonlWriter, dumps_line, encode_line, escape_line_breakers

from .schemas import schema_for

SINGLE = [{"role": "user", "content": "Q?"}]
SYSTEM = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q?"}]
MULTI = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]


@pytest.mark.parametrize("messages, expected", [(SINGLE, True), (SYSTEM, True), (MULTI, False),
                                                ([{"role": "system", "content": "x"}], False)])
def test_single_turn_means_one_user_message_and_no_assistant_turn(messages, expected):
    assert fmt.is_single_turn(messages) is expected


def test_transcript_puts_the_system_prompt_first_then_human_and_assistant_turns():
    assert fmt.transcript(SYSTEM) == "Be brief.\n\nHuman: Q?"
    assert fmt.text_prompt(MULTI) == "\n\nHuman: Q1\n\nAssistant: A1\n\nHuman: Q2\n\nAssistant: "


def test_hh_rlhf_rows_are_whole_transcripts_ending_with_each_answer():
    row = fmt.hh_rlhf_row(SINGLE, "Yes.", "No.")
    assert row == {"chosen": "\n\nHuman: Q?\n\nAssistant: Yes.", "rejected": "\n\nHuman: Q?\n\nAssistant: No."}
    jsonschema.validate(row, schema_for("hh-rlhf"))


def test_trl_text_prompt_plus_answer_is_the_whole_conversation():
    row = fmt.trl_row(SINGLE, "Yes.", "No.", text=True)
    assert row["prompt"] + row["chosen"] == fmt.hh_rlhf_row(SINGLE, "Yes.", "No.")["chosen"]
    jsonschema.validate(row, schema_for("trl", text=True))


@pytest.mark.parametrize("margin, keys", [(None, ["prompt", "chosen", "rejected"]),
                                          (0.667, ["prompt", "chosen", "rejected", "margin"])])
def test_trl_rows_have_exactly_the_published_keys(margin, keys):
    row = fmt.trl_row(SYSTEM, "Yes.", "No.", margin=margin)
    assert list(row) == keys
    assert row["chosen"] == [{"role": "assistant", "content": "Yes."}]
    jsonschema.validate(row, schema_for("trl"))


@pytest.mark.parametrize("text", [False, True])
def test_kto_rows_match_the_unpaired_preference_shape(text):
    jsonschema.validate(fmt.kto_row(SINGLE, "Yes.", False, text=text), schema_for("trl-kto", text=text))


def test_openai_dpo_row_matches_the_documented_shape():
    row = fmt.openai_dpo_row(SYSTEM, "Yes.", "No.")
    assert row == {"input": {"messages": SYSTEM}, "preferred_output": [{"role": "assistant", "content": "Yes."}],
                   "non_preferred_output": [{"role": "assistant", "content": "No."}]}
    jsonschema.validate(row, schema_for("openai-dpo"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(fmt.openai_dpo_row(MULTI, "Yes.", "No."), schema_for("openai-dpo"))


def test_sft_row_ends_with_the_rewrite_as_assistant_turn():
    row = fmt.sft_row(MULTI, "Better.")
    assert row["messages"][-1] == {"role": "assistant", "content": "Better."}
    assert row["messages"][:-1] == MULTI


def test_messages_are_normalised_to_role_then_content():
    jsonb_order = [{"content": "Q?", "role": "user", "name": "ignored"}]
    assert orjson.dumps(fmt.normalise_messages(jsonb_order)) == b'[{"role":"user","content":"Q?"}]'


# --- encoding ---------------------------------------------------------------------------------

HOSTILE = "a\u2028b\u2029c\u0085d \u200f\u05e9\u05dc\u05d5\u05dd\u200e \U0001F680 \"q\" \\ \x00 \x0b \x0c \x1c \r\n end"


def test_lines_survive_naive_line_readers_and_round_trip():
    line = dumps_line({"text": HOSTILE})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = line.decode("utf-8")
    assert len(decoded.splitlines()) == 1  # str.splitlines splits on U+2028, U+2029, U+0085, \x0b, \x1c…
    assert "\\u2028" in decoded and "\\u2029" in decoded and "\\u0085" in decoded
    assert json.loads(decoded) == {"text": HOSTILE} == orjson.loads(line)
    assert "\u200f" in decoded and "\U0001F680" in decoded  # RTL marks and emoji stay as they are


def test_escaping_does_not_touch_other_characters_sharing_bytes():
    text = "\u2027\u202a\u00c2\u0084\u0086 é"  # neighbours of the escaped code points
    assert escape_line_breakers(orjson.dumps(text)) == orjson.dumps(text)


def test_lone_surrogates_are_repaired_instead_of_crashing():
    line, repaired = encode_line({"text": "bad \ud800 text", "nested": ["\udfff"]})
    assert repaired is True
    assert orjson.loads(line) == {"text": "bad \ufffd text", "nested": ["\ufffd"]}


def test_writer_hashes_and_counts_exactly_what_it_wrote(tmp_path):
    import hashlib

    writer = JsonlWriter(tmp_path / "x.jsonl")
    for i in range(3):
        writer.write({"i": i, "t": "\u2028"})
    writer.close()
    data = (tmp_path / "x.jsonl").read_bytes()
    assert writer.rows == 3 and writer.bytes == len(data)
    assert writer.sha256 == hashlib.sha256(data).hexdigest()
    assert b"\xe2\x80\xa8" not in data
