"""Turning task groups into rows of one format, counting what was kept and what was dropped.

This is the hot path of a million-judgement export: builders return lists rather than nested
generators, and each task's votes are grouped once and shared by the agreement figures and the
aggregation.
"""
from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson

from . import formats as fmt
from .aggregate import Decision, Vote, aggregate_units, each_decisions, group_votes, kto_labels, votes_of
from .agreement import OrdinalAlpha
from .options import ExportOptions
from .queries import PREFERENCE, RANKING, REWRITE, REWRITE_SOURCE, TaskGroup
from .splits import SPLITS, Splitter

Row = dict[str, Any]
Pair = tuple[str, str, float]
# A rewrite beats the answer it started from "slightly" (it is an edit of it) and every other
# answer "much" (the expert wrote it because no answer was good enough).
REWRITE_OVER_SOURCE, REWRITE_OVER_OTHERS = 1, 3
MODEL, TEXT, _RANKING = operator.itemgetter(2), operator.itemgetter(3), operator.itemgetter(RANKING)  # of an item row (task_id, completion_id, model, text)


@dataclass
class ExportStats:
    """Counts for the manifest and the card; small whatever the export's size."""

    judgements: int = 0
    tasks: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    # Distinct prompts per split, as 64-bit hashes: a third of the memory of the hex keys.
    prompts: dict[str, set[int]] = field(default_factory=lambda: {s: set() for s in SPLITS})
    models: set[str] = field(default_factory=set)
    dropped: Counter[str] = field(default_factory=Counter)
    agreement: OrdinalAlpha = field(default_factory=OrdinalAlpha)


@dataclass(slots=True)
class Context:
    """What every row of one task is built from."""

    group: TaskGroup
    messages: list[fmt.Message]
    texts: list[str]
    votes: list[list[Vote]]
    units: dict[tuple[int, int], list[int]]


def task_votes(group: TaskGroup) -> tuple[list[list[Vote]], dict[tuple[int, int], list[int]]]:
    """Each judgement's votes and the votes per unit; pairwise preferences take a shortcut."""
    judgements = group.judgements
    preferences = [j[PREFERENCE] for j in judgements]
    if len(group.items) == 2 and None not in preferences and not any(map(_RANKING, judgements)):
        return [[(0, 1, p)] for p in preferences], {(0, 1): preferences}
    votes = [votes_of(j[PREFERENCE], parse_ranking(j[RANKING])) for j in judgements]
    return votes, group_votes(votes)


def parse_ranking(raw: str | None) -> list[int] | None:
    """A ranking column read as JSON text (NULL and JSON null both mean "no ranking")."""
    return None if raw is None or raw == "null" else orjson.loads(raw)


class RowBuilder:
    """``rows(group)`` gives ``(split, rows)`` for one task; ``stats`` accumulates as it goes."""

    def __init__(self, options: ExportOptions, domain: str = "") -> None:
        self.options = options
        self.domain = domain
        self.stats = ExportStats()
        self.splitter = Splitter(options.seed, options.test_fraction)
        sources: dict[str, Callable[[Context], list[Row]]] = {
            "pairs": self._pair_rows, "labels": self._label_rows, "rewrites": self._sft_rows,
            "judgements": self._judgement_rows,
        }
        self._build = sources[fmt.FORMAT_SOURCES[options.format]]

    def rows(self, group: TaskGroup) -> tuple[str, list[Row]]:
        """The split of the task's prompt and the task's rows."""
        stats = self.stats
        stats.tasks += 1
        stats.judgements += len(group.judgements)
        stats.models.update(map(MODEL, group.items))
        votes, units = task_votes(group)
        for values in units.values():
            stats.agreement.add_unit(values)
        context = Context(group, fmt.normalise_messages(group.messages), list(map(TEXT, group.items)), votes, units)
        rows = self._build(context)
        split, prompt_hash = self.splitter.assign(group.prompt_key)
        if rows:
            stats.rows[split] += len(rows)
            stats.prompts[split].add(prompt_hash)
        return split, rows

    def _decision_groups(self, context: Context) -> list[list[Decision]]:
        """Decisions per group: the whole task, or each judgement on its own (``each``)."""
        options, dropped = self.options, self.stats.dropped
        if options.aggregate == "each":
            return [each_decisions(v, options.tie_threshold, dropped) for v in context.votes]
        return [aggregate_units(context.units, options.aggregate, options.tie_threshold, dropped)]

    def _pairs(self, context: Context) -> list[Pair]:
        """(chosen text, rejected text, strength) for every decision, then every rewrite pair."""
        texts = context.texts
        pairs = [(texts[d.winner], texts[d.loser], d.strength)
                 for decisions in self._decision_groups(context) for d in decisions]
        if self.options.with_rewrites:
            pairs += self._rewrite_pairs(context)
        return pairs

    def _rewrite_pairs(self, context: Context) -> list[Pair]:
        pairs = []
        for j in context.group.judgements:
            if not j[REWRITE]:
                continue
            for text, item in zip(context.texts, context.group.items):
                if text == j[REWRITE]:
                    self.stats.dropped["rewrite_identical_to_answer"] += 1
                    continue
                strength = REWRITE_OVER_SOURCE if item[1] == j[REWRITE_SOURCE] else REWRITE_OVER_OTHERS
                pairs.append((j[REWRITE], text, strength))
        return pairs

    def _pair_rows(self, context: Context) -> list[Row]:
        options, messages = self.options, context.messages
        pairs = self._pairs(context)
        if options.format == "trl":
            margin, text = options.margin, options.text
            return [fmt.trl_row(messages, chosen, rejected, text=text, margin=fmt.margin_for(s) if margin else None)
                    for chosen, rejected, s in pairs]
        if options.format == "hh-rlhf":
            return [fmt.hh_rlhf_row(messages, chosen, rejected) for chosen, rejected, _ in pairs]
        if not fmt.is_single_turn(messages):
            self.stats.dropped["multi_turn_prompt"] += len(pairs)
            return []
        return [fmt.openai_dpo_row(messages, chosen, rejected) for chosen, rejected, _ in pairs]

    def _label_rows(self, context: Context) -> list[Row]:
        text, rows = self.options.text, []
        for decisions in self._decision_groups(context):
            labels, ambiguous = kto_labels(decisions)
            if ambiguous:
                self.stats.dropped["answer_both_won_and_lost"] += ambiguous
            rows += [fmt.kto_row(context.messages, context.texts[p], label, text=text) for p, label in labels]
        if self.options.with_rewrites:
            rows += [fmt.kto_row(context.messages, j[REWRITE], True, text=text)
                     for j in context.group.judgements if j[REWRITE]]
        return rows

    def _sft_rows(self, context: Context) -> list[Row]:
        seen: set[str] = set()
        rows = []
        for j in context.group.judgements:
            if not j[REWRITE]:
                continue
            if j[REWRITE] in seen:
                self.stats.dropped["duplicate_rewrite"] += 1
                continue
            seen.add(j[REWRITE])
            rows.append(fmt.sft_row(context.messages, j[REWRITE]))
        return rows

    def _judgement_rows(self, context: Context) -> list[Row]:
        group = context.group
        positions = {item[1]: pos for pos, item in enumerate(group.items)}
        return [fmt.judgement_row(
            judgement_id=j.id, task_id=group.task_id, prompt_id=group.prompt_external_id, domain=self.domain,
            context=context.messages, responses=_responses(group.items, j), preference=j.preference,
            ranking=parse_ranking(j.ranking), display_order=list(j.display_order), expert=j.pseudonym,
            confidence=j.confidence, rewrite=j.rewrite, rewrite_source_position=positions.get(j.rewrite_source_id),
            flags=list(j.flags or []), active_seconds=j.active_seconds, status=_value(j.status),
            review_verdict=_value(j.review_verdict), guideline_version=j.guideline_version,
            submitted_at=j.submitted_at.isoformat() if j.submitted_at else None,
        ) for j in group.judgements]


def _responses(items: list[Any], judgement: Any) -> list[Row]:
    scores, critiques = judgement.rubric_scores or {}, judgement.critiques or {}
    return [fmt.response_entry(pos, item[1], item[2], item[3], scores.get(str(item[1])), critiques.get(str(item[1])))
            for pos, item in enumerate(items)]


def _value(enum_or_none: Any) -> str | None:
    return None if enum_or_none is None else getattr(enum_or_none, "value", enum_or_none)
