"""Turning task groups into rows of one format, counting what was kept and what was dropped."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import formats as fmt
from .aggregate import Decision, aggregate_units, each_decisions, group_votes, kto_labels, votes_of
from .agreement import OrdinalAlpha
from .options import ExportOptions
from .queries import TaskGroup
from .splits import SPLITS, Splitter

Row = dict[str, Any]
# A rewrite beats the answer it started from "slightly" (it is an edit of it) and every other
# answer "much" (the expert wrote it because no answer was good enough).
REWRITE_OVER_SOURCE, REWRITE_OVER_OTHERS = 1, 3


@dataclass
class ExportStats:
    """Counts for the manifest and the card; small whatever the export's size."""

    judgements: int = 0
    tasks: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    prompts: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in SPLITS})
    experts: set[int] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    guideline_versions: set[int] = field(default_factory=set)
    dropped: Counter[str] = field(default_factory=Counter)
    agreement: OrdinalAlpha = field(default_factory=OrdinalAlpha)


@dataclass
class Context:
    """What every row of one task is built from."""

    group: TaskGroup
    messages: list[fmt.Message]
    texts: list[str]
    completion_ids: list[int]
    votes: list[list[tuple[int, int, int]]]


class RowBuilder:
    """``rows(group)`` yields ``(split, row)`` for one task; ``stats`` accumulates as it goes."""

    def __init__(self, options: ExportOptions, domain: str = "") -> None:
        self.options = options
        self.domain = domain
        self.stats = ExportStats()
        self.splitter = Splitter(options.seed, options.test_fraction)
        sources: dict[str, Callable[[Context], Iterator[Row]]] = {
            "pairs": self._pair_rows, "labels": self._label_rows, "rewrites": self._sft_rows,
            "judgements": self._judgement_rows,
        }
        self._build = sources[fmt.FORMAT_SOURCES[options.format]]

    def rows(self, group: TaskGroup) -> Iterator[tuple[str, Row]]:
        context = self._context(group)
        split = self.splitter.split_of(group.prompt_key)
        for row in self._build(context):
            self.stats.rows[split] += 1
            self.stats.prompts[split].add(group.prompt_key)
            yield split, row

    def _context(self, group: TaskGroup) -> Context:
        stats = self.stats
        stats.tasks += 1
        stats.judgements += len(group.judgements)
        votes = [votes_of(j.preference, j.ranking) for j in group.judgements]
        for values in group_votes(votes).values():
            stats.agreement.add_unit(values)
        stats.experts.update(j.expert_id for j in group.judgements)
        stats.guideline_versions.update(j.guideline_version for j in group.judgements)
        stats.models.update(item[3] for item in group.items)
        return Context(group, fmt.normalise_messages(group.messages), [item[4] for item in group.items],
                       [item[2] for item in group.items], votes)

    def _decision_groups(self, context: Context) -> list[list[Decision]]:
        """Decisions per group: the whole task, or each judgement on its own (``each``)."""
        options, dropped = self.options, self.stats.dropped
        if options.aggregate == "each":
            return [each_decisions(v, options.tie_threshold, dropped) for v in context.votes]
        return [aggregate_units(group_votes(context.votes), options.aggregate, options.tie_threshold, dropped)]

    def _pairs(self, context: Context) -> Iterator[tuple[str, str, float]]:
        """(chosen text, rejected text, strength) for every decision, then every rewrite pair."""
        texts = context.texts
        for decisions in self._decision_groups(context):
            for d in decisions:
                yield texts[d.winner], texts[d.loser], d.strength
        if self.options.with_rewrites:
            yield from self._rewrite_pairs(context)

    def _rewrite_pairs(self, context: Context) -> Iterator[tuple[str, str, float]]:
        for j in context.group.judgements:
            if not j.rewrite:
                continue
            for text, completion_id in zip(context.texts, context.completion_ids):
                if text == j.rewrite:
                    self.stats.dropped["rewrite_identical_to_answer"] += 1
                    continue
                strength = REWRITE_OVER_SOURCE if completion_id == j.rewrite_source_id else REWRITE_OVER_OTHERS
                yield j.rewrite, text, strength

    def _pair_rows(self, context: Context) -> Iterator[Row]:
        options, messages = self.options, context.messages
        if options.format == "openai-dpo" and not fmt.is_single_turn(messages):
            self.stats.dropped["multi_turn_prompt"] += sum(1 for _ in self._pairs(context))
            return
        for chosen, rejected, strength in self._pairs(context):
            if options.format == "trl":
                margin = fmt.margin_for(strength) if options.margin else None
                yield fmt.trl_row(messages, chosen, rejected, text=options.text, margin=margin)
            elif options.format == "openai-dpo":
                yield fmt.openai_dpo_row(messages, chosen, rejected)
            else:
                yield fmt.hh_rlhf_row(messages, chosen, rejected)

    def _label_rows(self, context: Context) -> Iterator[Row]:
        text = self.options.text
        for decisions in self._decision_groups(context):
            labels, ambiguous = kto_labels(decisions)
            if ambiguous:
                self.stats.dropped["answer_both_won_and_lost"] += ambiguous
            for position, label in labels:
                yield fmt.kto_row(context.messages, context.texts[position], label, text=text)
        if self.options.with_rewrites:
            for j in context.group.judgements:
                if j.rewrite:
                    yield fmt.kto_row(context.messages, j.rewrite, True, text=text)

    def _sft_rows(self, context: Context) -> Iterator[Row]:
        seen: set[str] = set()
        for j in context.group.judgements:
            if not j.rewrite:
                continue
            if j.rewrite in seen:
                self.stats.dropped["duplicate_rewrite"] += 1
                continue
            seen.add(j.rewrite)
            yield fmt.sft_row(context.messages, j.rewrite)

    def _judgement_rows(self, context: Context) -> Iterator[Row]:
        group = context.group
        positions = {cid: pos for pos, cid in enumerate(context.completion_ids)}
        for j in group.judgements:
            scores, critiques = j.rubric_scores or {}, j.critiques or {}
            responses = [fmt.response_entry(item[1], item[2], item[3], item[4], scores.get(str(item[2])),
                                            critiques.get(str(item[2]))) for item in group.items]
            yield fmt.judgement_row(
                judgement_id=j.id, task_id=group.task_id, prompt_id=group.prompt_external_id, domain=self.domain,
                context=context.messages, responses=responses, preference=j.preference, ranking=j.ranking,
                display_order=list(j.display_order), expert=j.pseudonym, confidence=j.confidence,
                rewrite=j.rewrite, rewrite_source_position=positions.get(j.rewrite_source_id),
                flags=list(j.flags or []), active_seconds=j.active_seconds, status=_value(j.status),
                review_verdict=_value(j.review_verdict), guideline_version=j.guideline_version,
                submitted_at=j.submitted_at.isoformat() if j.submitted_at else None,
            )


def _value(enum_or_none: Any) -> str | None:
    return None if enum_or_none is None else getattr(enum_or_none, "value", enum_or_none)
