"""The annotate pages over HTTP: claim, show, submit, skip, and the expert dashboard."""
from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from rlhf_app.common.clock import utcnow
from rlhf_app.models import (
    Assignment, AssignmentStatus, Judgement, JudgementRevision, JudgementStatus, Review, ReviewVerdict, Role,
    TaskKind,
)

from .. import factories

HOSTILE = [
    "<script>window.pwned = 1</script>Plain words",
    "[click me](javascript:window.pwned=1)",
    "<img src=x onerror=\"window.pwned=1\">",
    "<iframe src=\"https://evil.example\"></iframe><b onclick=\"window.pwned=1\">bold</b>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data link</a>",
    "<style>body{display:none}</style><svg onload=\"window.pwned=1\"></svg>",
    "```html\n<script>window.pwned=1</script>\n```",
]


def fresh(session) -> None:
    """Forget what this test session read, so the next query sees what the app committed."""
    session.rollback()
    session.expire_all()


def make_assigned(session, expert, *, kind: TaskKind = TaskKind.pairwise, display_order=None, texts=None, messages=None):
    """A task of ``kind`` already claimed by ``expert`` (display order fixed for the test)."""
    project = factories.make_project(session, kind=kind, name="Valuation desk")
    prompt = factories.make_prompt(session, project, messages=messages) if messages else None
    task = factories.make_task(session, project, prompt=prompt)
    for item, text in zip(task.items, texts or []):
        item.completion.text = text
    order = display_order or list(range(len(task.items)))
    assignment = factories.make_assignment(session, task, expert, display_order=order, now=utcnow())
    session.commit()
    return task, assignment


def shown_ids(task, assignment) -> list[int]:
    return [task.items[position].completion_id for position in assignment.display_order]


def complete_form(task, assignment, **overrides) -> dict:
    """A submission that passes every completeness rule (answer A preferred)."""
    a, b = shown_ids(task, assignment)
    form = {
        "preference": "-2", "confidence": "4", "flags": ["factual_error"],
        f"score-{a}-accuracy": "5", f"score-{b}-accuracy": "2", f"score-{a}-clarity": "3",
        f"critique-{a}": "Gets the tax shield right.", f"critique-{b}": "Forgets the tax shield.",
        "rewrite": "WACC = E/V·Re + D/V·Rd·(1−t), with market values.", "rewrite_source_id": str(a),
        "idempotency_key": uuid.uuid4().hex,
    }
    form.update(overrides)
    return form


class TagCollector(HTMLParser):
    """Every start tag with its attributes, and which answer text (if any) it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None], bool]] = []
        self._depth_in_text: list[int] = []
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        inside = bool(self._depth_in_text)
        self.tags.append((tag, attributes, inside))
        if tag in ("br", "hr", "img", "input", "meta", "link"):
            return
        self._depth += 1
        if "an-text" in (attributes.get("class") or "").split():
            self._depth_in_text.append(self._depth)

    def handle_endtag(self, tag):
        if tag in ("br", "hr", "img", "input", "meta", "link"):
            return
        if self._depth_in_text and self._depth_in_text[-1] == self._depth:
            self._depth_in_text.pop()
        self._depth -= 1


# --- claiming -----------------------------------------------------------------------------------

def test_next_task_claims_and_redirects_to_the_page(login_as, session):
    client, expert = login_as(Role.expert)
    project = factories.make_project(session)
    factories.make_task(session, project)
    session.commit()
    response = client.get("/annotate/next")
    assert response.status_code == 302
    fresh(session)
    assignment = session.scalars(select(Assignment).where(Assignment.expert_id == expert.id)).one()
    assert response.headers["Location"] == f"/annotate/{assignment.id}"
    assert sorted(assignment.display_order) == [0, 1]


def test_next_task_says_so_when_nothing_is_left(login_as):
    client, _ = login_as(Role.expert)
    response = client.get("/annotate/next")
    assert response.status_code == 200
    assert "Nothing left to judge" in response.get_data(as_text=True)


def test_annotate_pages_are_for_experts_only(login_as, session):
    client, _ = login_as(Role.reviewer)
    assert client.get("/annotate/next").status_code == 403


# --- the page -----------------------------------------------------------------------------------

def test_page_shows_conversation_answers_rubric_and_no_model_names(login_as, session):
    client, expert = login_as(Role.expert)
    messages = [{"role": "system", "content": "You are a CFO."}, {"role": "user", "content": "What is **WACC**?"},
                {"role": "assistant", "content": "The weighted average cost of capital."},
                {"role": "user", "content": "Compute it for *Acme*."}]
    task, assignment = make_assigned(session, expert, messages=messages, display_order=[1, 0])
    response = client.get(f"/annotate/{assignment.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>WACC</strong>" in html and "<em>Acme</em>" in html and "You are a CFO." in html
    assert html.index(f'data-cid="{task.items[1].completion_id}"') < html.index(f'data-cid="{task.items[0].completion_id}"')
    assert "Answer A" in html and "Answer B" in html
    assert "mostly right" in html and "Facts and numbers" in html  # level and criterion descriptions
    assert "A much better" in html and "B much better" in html
    assert "Judge <strong>carefully</strong>" in html  # the instructions, rendered
    for item in task.items:
        assert item.completion.model_name not in html
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', html)


def test_ranking_page_has_a_rank_select_per_answer_and_no_preference(login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert, kind=TaskKind.ranking, display_order=[2, 0, 3, 1])
    html = client.get(f"/annotate/{assignment.id}").get_data(as_text=True)
    for cid in shown_ids(task, assignment):
        assert f'name="rank-{cid}"' in html
    assert 'name="preference"' not in html
    assert "Answer D" in html and "ranking of 4 answers" in html


def test_page_restores_the_draft_in_display_order(login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert, display_order=[1, 0])
    first, second = (item.completion_id for item in task.items)
    factories.make_judgement(
        session, assignment, status=JudgementStatus.draft, preference=-2,  # canonical: position 0 better
        confidence=3, rubric_scores={str(first): {"accuracy": 4}}, critiques={str(second): "Too <b>vague</b>."},
        rewrite="\nStarts with a newline.", rewrite_source_id=first, flags=["unsafe"])
    session.commit()
    html = client.get(f"/annotate/{assignment.id}").get_data(as_text=True)
    # Position 0 is shown second ("B"), so "position 0 better by 2" is displayed as +2, "B better".
    assert re.search(r'name="preference" value="2" checked', html)
    assert re.search(rf'name="score-{first}-accuracy" value="4" checked', html)
    assert re.search(r'name="confidence" value="3" checked', html)
    assert re.search(r'name="flags" value="unsafe" checked', html)
    assert "Too &lt;b&gt;vague&lt;/b&gt;." in html
    assert '<textarea id="rewrite" name="rewrite" rows="12" spellcheck="true">\n\nStarts with a newline.</textarea>' in html
    assert f'id="rewrite-source" value="{first}"' in html


def test_another_experts_assignment_is_not_found(login_as, session):
    client, _ = login_as(Role.expert)
    other = factories.make_user(session)
    task, assignment = make_assigned(session, other)
    assert client.get(f"/annotate/{assignment.id}").status_code == 404
    assert client.post(f"/annotate/{assignment.id}/submit", data=complete_form(task, assignment)).status_code == 404
    assert client.post(f"/annotate/{assignment.id}/skip", data={"reason": "other"}).status_code == 404
    fresh(session)
    assert session.scalar(select(func.count()).select_from(Judgement)) == 0
    assert session.get(Assignment, assignment.id).status is AssignmentStatus.active


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_markdown_renders_inert(login_as, session, payload):
    client, expert = login_as(Role.expert)
    messages = [{"role": "user", "content": payload}]
    _, assignment = make_assigned(session, expert, texts=[payload, "fine"], messages=messages)
    html = client.get(f"/annotate/{assignment.id}").get_data(as_text=True)
    collector = TagCollector()
    collector.feed(html)
    scripts = [attrs.get("src") for tag, attrs, _ in collector.tags if tag == "script"]
    assert scripts == ["/static/js/annotate.js"]
    assert not [tag for tag, _, inside in collector.tags if inside and tag in ("script", "img", "iframe", "style", "svg")]
    for tag, attrs, _ in collector.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").strip().lower().startswith(("javascript:", "data:")), (tag, attrs)
    assert "style=" not in html


# --- submitting ---------------------------------------------------------------------------------

def test_submit_records_the_judgement_and_goes_to_the_next_task(login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert, display_order=[1, 0])
    a, b = shown_ids(task, assignment)
    form = complete_form(task, assignment)
    response = client.post(f"/annotate/{assignment.id}/submit", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/annotate/next"
    fresh(session)
    judgement = session.scalars(select(Judgement).where(Judgement.assignment_id == assignment.id)).one()
    assert judgement.status is JudgementStatus.submitted
    assert judgement.preference == 2  # "A better" where A is canonical position 1
    assert judgement.confidence == 4 and judgement.flags == ["factual_error"]
    assert judgement.rubric_scores == {str(a): {"accuracy": 5, "clarity": 3}, str(b): {"accuracy": 2}}
    assert judgement.critiques == {str(a): "Gets the tax shield right.", str(b): "Forgets the tax shield."}
    assert judgement.rewrite_source_id == a and judgement.idempotency_key == form["idempotency_key"]
    assert session.get(Assignment, assignment.id).status is AssignmentStatus.submitted


def test_ranking_submission_stores_ranks_in_canonical_order(login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert, kind=TaskKind.ranking, display_order=[3, 2, 1, 0])
    ids = shown_ids(task, assignment)
    form = {f"rank-{cid}": str(rank) for cid, rank in zip(ids, [1, 2, 2, 4])}
    form |= {f"score-{cid}-accuracy": "3" for cid in ids} | {f"critique-{cid}": "ok" for cid in ids}
    form |= {"confidence": "2", "rewrite": "Reworded.", "rewrite_source_id": str(ids[0]), "idempotency_key": uuid.uuid4().hex}
    assert client.post(f"/annotate/{assignment.id}/submit", data=form).status_code == 302
    fresh(session)
    judgement = session.scalars(select(Judgement).where(Judgement.assignment_id == assignment.id)).one()
    assert judgement.ranking == [4, 2, 2, 1]  # canonical positions 0..3 were shown as D, C, B, A


def test_submitting_twice_with_one_key_records_one_judgement(login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert)
    form = complete_form(task, assignment)
    first = client.post(f"/annotate/{assignment.id}/submit", data=form)
    second = client.post(f"/annotate/{assignment.id}/submit", data=form)
    assert first.status_code == second.status_code == 302
    fresh(session)
    assert session.scalar(select(func.count()).select_from(Judgement)) == 1
    assert session.scalar(select(func.count()).select_from(JudgementRevision)) == 1


def test_incomplete_submission_shows_a_message_per_field_and_keeps_the_input(login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert)
    a, b = shown_ids(task, assignment)
    form = {"preference": "1", f"critique-{a}": "Half <done>", "idempotency_key": uuid.uuid4().hex}
    response = client.post(f"/annotate/{assignment.id}/submit", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Say how confident you are" in html
    assert "Write a critique of answer B." in html
    assert "Score Accuracy for answer A" in html
    assert re.search(r'name="preference" value="1" checked', html)
    assert "Half &lt;done&gt;" in html
    assert form["idempotency_key"] in html and 'data-dirty="1"' in html
    fresh(session)
    assert session.scalar(select(func.count()).select_from(Judgement).where(Judgement.status != JudgementStatus.draft)) == 0


def test_contradiction_asks_to_confirm_and_confirming_submits(login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert)
    a, _ = shown_ids(task, assignment)
    form = complete_form(task, assignment, rewrite=task.items[0].completion.text)
    response = client.post(f"/annotate/{assignment.id}/submit", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please confirm" in html and "identical to answer A" in html
    assert 'name="confirm" value="1"' in html
    fresh(session)
    assert session.scalar(select(func.count()).select_from(Judgement)) == 0
    assert client.post(f"/annotate/{assignment.id}/submit", data={**form, "confirm": "1"}).status_code == 302
    fresh(session)
    assert session.scalars(select(Judgement)).one().status is JudgementStatus.submitted


def test_submit_without_csrf_token_is_refused(app, login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert)
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    response = client.post(f"/annotate/{assignment.id}/submit", data=complete_form(task, assignment))
    assert response.status_code == 400
    fresh(session)
    assert session.scalar(select(func.count()).select_from(Judgement)) == 0


# --- skipping -----------------------------------------------------------------------------------

def test_skip_records_the_reason_and_moves_on(login_as, session):
    client, expert = login_as(Role.expert)
    _, assignment = make_assigned(session, expert)
    response = client.post(f"/annotate/{assignment.id}/skip", data={"reason": "outside_expertise", "note": "tax law"})
    assert response.status_code == 302 and response.headers["Location"] == "/annotate/next"
    fresh(session)
    skipped = session.get(Assignment, assignment.id)
    assert (skipped.status, skipped.skip_reason, skipped.skip_note) == (AssignmentStatus.skipped, "outside_expertise", "tax law")


def test_skip_with_an_unknown_reason_is_refused(login_as, session):
    client, expert = login_as(Role.expert)
    _, assignment = make_assigned(session, expert)
    response = client.post(f"/annotate/{assignment.id}/skip", data={"reason": "bored"})
    assert response.status_code == 422
    assert "is not a reason" in response.get_data(as_text=True)
    fresh(session)
    assert session.get(Assignment, assignment.id).status is AssignmentStatus.active


# --- the expert dashboard -----------------------------------------------------------------------

def test_expert_dashboard_shows_figures_and_returned_judgements(login_as, session):
    client, expert = login_as(Role.expert)
    _, assignment = make_assigned(session, expert)
    judgement = factories.make_judgement(session, assignment, status=JudgementStatus.returned)
    reviewer = factories.make_user(session, role=Role.reviewer)
    session.add(Review(judgement_id=judgement.id, reviewer_id=reviewer.id, verdict=ReviewVerdict.send_back,
                       reason_code="critique", comment="Say <why> B is wrong."))
    session.commit()
    html = client.get("/expert").get_data(as_text=True)
    assert "Tasks done today" in html and "Active hours this week" in html
    assert "Returned judgements to fix" in html
    assert f'href="/annotate/{assignment.id}"' in html
    assert "Say &lt;why&gt; B is wrong." in html
    assert 'href="/annotate/next"' in html


def test_a_submitted_judgement_opens_read_only(login_as, session):
    client, expert = login_as(Role.expert)
    _, assignment = make_assigned(session, expert)
    factories.make_judgement(session, assignment)
    assignment.status = AssignmentStatus.submitted
    session.commit()
    html = client.get(f"/annotate/{assignment.id}").get_data(as_text=True)
    assert "You already submitted this judgement." in html
    assert 'data-editable="0"' in html
    assert re.search(r'<button type="submit" class="primary" disabled>Submit judgement</button>', html)


def test_a_returned_judgement_opens_editable_with_the_reviewers_words(login_as, session):
    client, expert = login_as(Role.expert)
    _, assignment = make_assigned(session, expert)
    judgement = factories.make_judgement(session, assignment, status=JudgementStatus.returned)
    assignment.status = AssignmentStatus.submitted
    reviewer = factories.make_user(session, role=Role.reviewer)
    session.add(Review(judgement_id=judgement.id, reviewer_id=reviewer.id, verdict=ReviewVerdict.send_back,
                       reason_code="weak_critique", comment="Name the <missing> tax shield."))
    session.commit()
    html = client.get(f"/annotate/{assignment.id}").get_data(as_text=True)
    assert "A reviewer sent this judgement back." in html
    assert "weak critique: Name the &lt;missing&gt; tax shield." in html
    assert 'data-editable="1"' in html


def test_submitted_text_keeps_lf_line_breaks_as_autosave_does(login_as, session):
    client, expert = login_as(Role.expert)
    task, assignment = make_assigned(session, expert)
    a, _ = shown_ids(task, assignment)
    form = complete_form(task, assignment, rewrite="First line\r\n\r\nSecond line", **{f"critique-{a}": "One\r\nTwo"})
    assert client.post(f"/annotate/{assignment.id}/submit", data=form).status_code == 302
    fresh(session)
    judgement = session.scalars(select(Judgement)).one()
    assert judgement.rewrite == "First line\n\nSecond line"
    assert judgement.critiques[str(a)] == "One\nTwo"
