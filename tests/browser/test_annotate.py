"""An expert judges a pairwise and a ranking task from the keyboard alone, in Chromium.

The real app runs on 127.0.0.1 (see conftest.py); every page is screenshotted at 1366x768 under
tests/artifacts/. The XSS test asserts on the live DOM, not on strings.
"""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select

from rlhf_app.models import Assignment, Judgement, JudgementStatus, TaskKind

from .. import factories
from .conftest import sign_in_with_keyboard

pytestmark = pytest.mark.browser

WACC_PROMPT = [
    {"role": "system", "content": "You are a careful corporate-finance analyst."},
    {"role": "user", "content": "Acme has 600m of equity and 400m of debt at market value. What is a WACC?"},
    {"role": "assistant", "content": "The **weighted average cost of capital**: each source of capital weighted by its share."},
    {"role": "user", "content": "Compute Acme's WACC: risk-free 4%, beta 1.2, ERP 5.5%, cost of debt 6%, tax 25%."},
]
WACC_ANSWERS = [
    "## WACC for Acme\n\n1. Cost of equity (CAPM): **4% + 1.2 × 5.5% = 10.6%**\n"
    "2. After-tax cost of debt: 6% × (1 − 25%) = 4.5%\n3. Weights at market value: 60% equity, 40% debt\n\n"
    "| Component | Weight | Cost |\n|---|---|---|\n| Equity | 60% | 10.6% |\n| Debt | 40% | 4.5% |\n\n"
    "**WACC = 0.6 × 10.6% + 0.4 × 4.5% = 8.16%**",
    "WACC = 0.6 × 10.6% + 0.4 × 6% = 8.76%.\n\nTaxes can be ignored for a quick estimate, and book values "
    "work as well as market values.",
]
STRATEGY_ANSWERS = [
    "Enter through a **partnership** with a local distributor: low capital at risk, fast learning.",
    "Acquire the number-three player; the integration risk is high but the market is consolidating.",
    "Build greenfield. It is slow, but you keep full control of the brand.\n\n- 3 years to break even\n- 40m capex",
    "Do not enter: the market is shrinking 4% a year and margins are below the cost of capital.",
]
STRATEGY_PROMPT = [{"role": "user", "content": "Should a mid-sized German tool maker enter the US market? Rank the options."}]
HOSTILE_PROMPT = [{"role": "user", "content": "<script>window.pwned='prompt'</script>What is **WACC**? "
                                              "<img src=x onerror=\"window.pwned='prompt-img'\">"}]
HOSTILE_ANSWERS = [
    "Intro <script>window.pwned='script'</script>\n\n[click me](javascript:window.pwned='link')\n\n"
    "<img src=x onerror=\"window.pwned='img'\">\n\n"
    "<div onmouseover=\"window.pwned='hover'\" class=\"an-bar\">raw html block</div>\n\n"
    "<a href=\"javascript:window.pwned='raw-link'\">raw link</a>",
    "<iframe srcdoc=\"<script>parent.pwned='iframe'</script>\"></iframe>\n\n"
    "<svg><script>window.pwned='svg'</script></svg>\n\n"
    "<a href=\"data:text/html,<script>alert(1)</script>\">data link</a>\n\n"
    "<details open ontoggle=\"window.pwned='toggle'\">details</details>\n\n"
    "<form action=\"javascript:window.pwned='form'\"><button>go</button></form>\n\n"
    "```html\n<script>window.pwned='code'</script>\n```",
]
DOM_PROBLEMS = """() => {
  const all = [...document.querySelectorAll('*')];
  const inside = '.an-text, .an-prompt, .an-raw, #an-diff';
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'srcdoc'];
  return {
    scripts: document.querySelectorAll(':is(' + inside + ') script, script:not([src])').length,
    handlers: all.flatMap(el => [...el.attributes].filter(a => a.name.startsWith('on')).map(a => el.tagName + ' ' + a.name)),
    badUrls: all.flatMap(el => urlAttrs.map(n => el.getAttribute(n) || '')
                  .filter(v => /^\\s*(javascript|data|vbscript):/i.test(v))),
    embeds: document.querySelectorAll(':is(' + inside + ') :is(img, iframe, svg, object, embed, form, style, details)').length,
    styled: document.querySelectorAll('[style]:not([style=""])').length,
    pwned: window.pwned === undefined ? null : String(window.pwned),
  };
}"""


def seed_expert_with_two_tasks(session):
    """A pairwise task (finance) and a four-answer ranking task (strategy) waiting for one expert."""
    expert = factories.make_user(session, name="Esther Expert")
    finance = factories.make_project(session, name="Corporate finance: WACC", domain="finance",
                                     instructions="Judge **correctness** first, then clarity.\n\n- Check every number\n- Market values beat book values")
    strategy = factories.make_project(session, name="Market entry strategy", domain="strategy", kind=TaskKind.ranking)
    pair = _task(session, finance, WACC_PROMPT, WACC_ANSWERS)
    ranking = _task(session, strategy, STRATEGY_PROMPT, STRATEGY_ANSWERS)
    session.commit()
    return expert, pair, ranking


def _task(session, project, messages, texts):
    prompt = factories.make_prompt(session, project, messages=messages)
    task = factories.make_task(session, project, prompt=prompt, answers=len(texts))
    for item, text in zip(task.items, texts):
        item.completion.text = text
    session.flush()
    return task


def wait_for_page(page) -> None:
    """Wait until annotate.js has wired the shortcuts (it is a deferred script)."""
    page.wait_for_selector("form#judgement[data-ready='1']", state="attached")


def current_assignment_id(page) -> int:
    return int(re.search(r"/annotate/(\d+)$", page.url).group(1))


def open_first_task(page, live_server: str, session) -> int:
    """Seed the two tasks, sign their expert in from the keyboard, open the next task; its assignment id."""
    expert, _, _ = seed_expert_with_two_tasks(session)
    sign_in_with_keyboard(page, live_server, expert.email, factories.PASSWORD)
    page.goto(f"{live_server}/annotate/next")
    wait_for_page(page)
    return current_assignment_id(page)


def wait_until_saved(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#an-saved")).to_have_text(re.compile(r"^Saved \d\d:\d\d:\d\d$"), timeout=10_000)


def tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus after {limit} Tabs")


def press(page, *keys: str) -> None:
    for key in keys:
        page.keyboard.press(key)


def type_and_leave(page, text: str) -> None:
    """Type into the focused text field, then Esc back to the page's shortcuts."""
    page.keyboard.type(text)
    page.keyboard.press("Escape")


def score_and_critique(page, letter: str, scores: list[str], critique: str) -> None:
    """Select an answer, score its criteria top to bottom (a digit each), write its critique."""
    press(page, letter, "s", *scores, "Escape", "n")
    type_and_leave(page, critique)


def test_expert_judges_a_pair_and_a_ranking_from_the_keyboard(page, live_server, session, screenshot):
    from playwright.sync_api import expect

    expert, pair, ranking = seed_expert_with_two_tasks(session)
    sign_in_with_keyboard(page, live_server, expert.email, factories.PASSWORD)
    screenshot("01-expert-dashboard")
    tab_to(page, "a.button.primary")  # "Start the next task"
    press(page, "Enter")
    page.wait_for_url(re.compile(r"/annotate/\d+$"))
    wait_for_page(page)
    first_id = current_assignment_id(page)
    expect(page.locator("h1.an-title")).to_contain_text("Corporate finance")
    screenshot("02-pairwise-fresh")

    # Submitting at once lists what is missing, per field, and keeps the page usable.
    press(page, "Control+Enter")
    expect(page.locator(".an-errors")).to_contain_text("Say how confident you are")
    wait_for_page(page)
    screenshot("03-pairwise-missing-fields")

    press(page, "2")  # A better
    expect(page.locator('input[name="preference"][value="-2"]')).to_be_checked()
    score_and_critique(page, "a", ["5", "3"], "Right formula with market weights and the tax shield.")
    score_and_critique(page, "b", ["2", "2"], "Ignores the tax shield; book values are not as good.")
    press(page, "Shift+4")
    expect(page.locator('input[name="confidence"][value="4"]')).to_be_checked()
    press(page, "x", "Tab", "Space")  # the second flag: factual error
    expect(page.locator('input[name="flags"][value="factual_error"]')).to_be_checked()
    press(page, "r", "Control+End")
    type_and_leave(page, "\n\nThis assumes the 25% tax rate applies to all interest.")
    expect(page.locator("#an-diff ins")).to_contain_text("This assumes the 25% tax rate")
    press(page, "?")
    expect(page.locator("#an-help .an-shortcuts")).to_be_visible()
    screenshot("04-pairwise-filled-with-shortcuts")
    press(page, "Escape")
    wait_until_saved(page)

    # Reopen the task: the draft is back exactly as it was left.
    page.goto(f"{live_server}/annotate/{first_id}")
    wait_for_page(page)
    expect(page.locator('input[name="preference"][value="-2"]')).to_be_checked()
    expect(page.locator('input[name="confidence"][value="4"]')).to_be_checked()
    expect(page.locator('input[name="flags"][value="factual_error"]')).to_be_checked()
    expect(page.locator(".an-critique-box[data-answer='B'] textarea")).to_have_value("Ignores the tax shield; book values are not as good.")
    expect(page.locator("#rewrite")).to_have_value(re.compile(r"\S\n\nThis assumes the 25% tax rate applies to all interest\.$"))
    expect(page.locator("td[data-answer='A'] input[value='5'][name$='-accuracy']")).to_be_checked()
    screenshot("05-pairwise-reopened")
    press(page, "Control+Enter")

    # The next task is the ranking of four answers.
    page.wait_for_url(lambda url: re.search(r"/annotate/\d+$", url) is not None and not url.endswith(f"/{first_id}"))
    second_id = current_assignment_id(page)
    wait_for_page(page)
    expect(page.locator("h1.an-title")).to_contain_text("Market entry strategy")
    screenshot("06-ranking-fresh")
    press(page, "a", "1", "b", "2", "c", "2", "d", "+")  # + moves the unranked D to the last rank
    expect(page.locator("#an-ranking-summary")).to_have_text("A > B = C > D")
    for letter in "abcd":
        score_and_critique(page, letter, ["3"], f"Critique of {letter.upper()}: trade-offs named, no numbers.")
    press(page, "Shift+3", "a", "p", "r", "Control+End")
    type_and_leave(page, " Pilot in one state first.")
    wait_until_saved(page)
    page.reload()
    wait_for_page(page)
    expect(page.locator("#an-ranking-summary")).to_have_text("A > B = C > D")
    expect(page.locator("#answer-D .an-rank-select")).to_have_value("4")
    expect(page.locator("#rewrite")).to_have_value(re.compile(r"Pilot in one state first\.$"))
    screenshot("07-ranking-reopened")
    press(page, "Control+Enter")

    page.wait_for_url(f"{live_server}/annotate/next")
    expect(page.locator("h1")).to_have_text("Nothing left to judge")
    screenshot("08-nothing-left")

    session.rollback()
    session.expire_all()
    judgements = {j.assignment_id: j for j in session.scalars(select(Judgement))}
    assert set(judgements) == {first_id, second_id}
    assert all(j.status is JudgementStatus.submitted for j in judgements.values())
    first = session.get(Assignment, first_id)
    shown_first = pair.items[first.display_order[0]].completion_id
    assert judgements[first_id].preference == (-2 if first.display_order[0] == 0 else 2)
    assert judgements[first_id].rubric_scores[str(shown_first)] == {"accuracy": 5, "clarity": 3}
    assert judgements[first_id].flags == ["factual_error"] and judgements[first_id].confidence == 4
    second = session.get(Assignment, second_id)
    ranks_by_position = dict(zip(second.display_order, [1, 2, 2, 4]))
    assert judgements[second_id].ranking == [ranks_by_position[p] for p in range(4)]
    assert judgements[second_id].rewrite.endswith(" Pilot in one state first.")


def test_hostile_answers_render_inert(page, live_server, session, screenshot):
    from playwright.sync_api import expect

    expert = factories.make_user(session)
    project = factories.make_project(session, name="Hostile content", instructions="<script>window.pwned='instructions'</script>Read me")
    _task(session, project, HOSTILE_PROMPT, HOSTILE_ANSWERS)
    session.commit()
    sign_in_with_keyboard(page, live_server, expert.email, factories.PASSWORD)
    page.goto(f"{live_server}/annotate/next")
    page.wait_for_url(re.compile(r"/annotate/\d+$"))
    wait_for_page(page)

    page.locator(".an-text", has_text="raw html block").hover()
    page.locator(".an-text a", has_text="click me").click()
    page.locator(".an-text a", has_text="raw link").click()
    page.locator("#an-instructions summary").click()
    press(page, "Escape", "b", "p")  # the rewrite editor now holds answer B's raw text
    press(page, "r", "Control+End")
    type_and_leave(page, "<img src=x onerror=\"window.pwned='typed'\"><script>window.pwned='typed'</script>")
    expect(page.locator("#an-diff")).to_contain_text("<img src=x onerror=")
    wait_until_saved(page)
    page.reload()  # what the expert typed comes back from the server, still as text
    wait_for_page(page)
    expect(page.locator("#rewrite")).to_have_value(re.compile(r"window\.pwned='typed'</script>$"))
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("09-hostile-content")

    problems = page.evaluate(DOM_PROBLEMS)
    assert problems == {"scripts": 0, "handlers": [], "badUrls": [], "embeds": 0, "styled": 0, "pwned": None}
    raw_texts = page.locator(".an-raw").all_text_contents()  # the payloads are there, as text
    assert sorted(raw_texts) == sorted(HOSTILE_ANSWERS)


def test_heartbeat_runs_while_in_use_and_stops_after_two_idle_minutes(page, live_server, session):
    from playwright.sync_api import expect

    expert, _, _ = seed_expert_with_two_tasks(session)
    beats: list[str] = []
    page.on("request", lambda request: beats.append(request.url) if request.url.endswith("/heartbeat") else None)
    page.clock.install()  # the page's timers and Date run on a fake clock this test moves
    sign_in_with_keyboard(page, live_server, expert.email, factories.PASSWORD)
    page.goto(f"{live_server}/annotate/next")
    wait_for_page(page)
    page.wait_for_timeout(300)
    assert len(beats) == 1  # one on opening the task

    page.clock.run_for(16_000)
    page.wait_for_timeout(300)
    assert len(beats) == 2  # every 15 s while visible and in use

    page.clock.run_for(150_000)  # no input at all: the clock stops two minutes after the last input
    page.wait_for_timeout(300)
    idle_beats = len(beats)
    assert idle_beats == 8  # at 0 s, then 15 s ... 105 s; at 120 s the last input is two minutes old
    expect(page.locator(".an-timer")).to_have_class(re.compile(r"\ban-idle\b"))
    page.clock.run_for(60_000)
    page.wait_for_timeout(300)
    assert len(beats) == idle_beats

    page.mouse.move(400, 300)  # back at work: the clock and the heartbeat resume
    page.clock.run_for(15_000)
    page.wait_for_timeout(300)
    assert len(beats) == idle_beats + 1
    expect(page.locator(".an-timer")).not_to_have_class(re.compile(r"\ban-idle\b"))


def test_active_time_reaches_the_server(page, live_server, session):
    from playwright.sync_api import expect

    expert, _, _ = seed_expert_with_two_tasks(session)
    sign_in_with_keyboard(page, live_server, expert.email, factories.PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/heartbeat")):
        page.goto(f"{live_server}/annotate/next")
    wait_for_page(page)
    page.mouse.move(300, 300)
    with page.expect_response(lambda r: r.url.endswith("/heartbeat"), timeout=20_000) as second:
        page.mouse.move(320, 310)
    assert second.value.json()["active_seconds"] >= 14
    expect(page.locator("#an-active")).to_have_text(re.compile(r"^0:00:(1[4-9]|2\d)$"))
    session.rollback()
    assert session.get(Assignment, current_assignment_id(page)).active_seconds >= 14


def test_skip_from_the_keyboard_moves_to_the_next_task(page, live_server, session, screenshot):
    from playwright.sync_api import expect

    first_id = open_first_task(page, live_server, session)
    press(page, "Alt+s")
    expect(page.locator("#an-skip .an-panel")).to_be_visible()
    press(page, "ArrowDown")  # from "Outside my expertise" to "Bad prompt"
    press(page, "Tab")
    page.keyboard.type("The tax rate is missing from the prompt.")
    screenshot("10-skip-dialog")
    page.evaluate("key => localStorage.setItem(key, JSON.stringify({data: {confidence: 2}, edit: 99, time: Date.now()}))",
                  f"rlhf-app:draft:{first_id}")  # a change the server never confirmed
    press(page, "Control+Enter")  # inside the skip form, Ctrl+Enter sends the skip
    page.wait_for_url(lambda url: re.search(r"/annotate/\d+$", url) is not None and not url.endswith(f"/{first_id}"))
    wait_for_page(page)
    assert page.evaluate("Object.keys(localStorage)") == []  # the task is over: the next task's page let go of its copy
    session.rollback()
    skipped = session.get(Assignment, first_id)
    assert (skipped.status.value, skipped.skip_reason, skipped.skip_note) == (
        "skipped", "bad_prompt", "The tax rate is missing from the prompt.")


def test_a_contradiction_is_confirmed_from_the_keyboard(page, live_server, session, screenshot):
    from playwright.sync_api import expect

    first_id = open_first_task(page, live_server, session)
    press(page, "Shift+I")
    expect(page.locator("#an-instructions .an-panel")).to_contain_text("Check every number")
    screenshot("11-instructions")
    press(page, "Escape", "7")  # B much better ...
    score_and_critique(page, "a", ["5"], "Better numbers.")  # ... yet A scored higher, and the rewrite is B untouched
    score_and_critique(page, "b", ["1"], "Wrong numbers.")
    press(page, "Shift+2", "Control+Enter")
    expect(page.locator(".an-confirm")).to_contain_text("scored answer A higher")
    expect(page.locator(".an-confirm")).to_contain_text("identical to answer B")
    expect(page.locator("#an-confirm")).to_be_focused()
    screenshot("12-confirm-contradiction")
    press(page, "Enter")
    page.wait_for_url(lambda url: re.search(r"/annotate/\d+$", url) is not None and not url.endswith(f"/{first_id}"))
    session.rollback()
    judgement = session.scalars(select(Judgement).where(Judgement.assignment_id == first_id)).one()
    assert judgement.status is JudgementStatus.submitted
    wait_for_page(page)
    assert page.evaluate("Object.keys(localStorage)") == []  # the next task's page let go of the submitted copy


def saved_draft(session, assignment_id: int) -> Judgement:
    """The assignment's draft as the server holds it now."""
    session.rollback()
    session.expire_all()
    return session.scalars(select(Judgement).where(Judgement.assignment_id == assignment_id)).one()


@pytest.fixture
def saves_land(app):
    """Cleared, the server sits on draft saves before handling them, as a slow network would.

    (page.route cannot hold them: Chromium sends the keepalive save of pagehide past Playwright's
    request interception.) Held before the app touches the database, so no lock is held meanwhile.
    """
    saves_land = threading.Event()
    saves_land.set()
    handle = app.wsgi_app

    def late_saves(environ, start_response):
        if environ["REQUEST_METHOD"] == "PUT" and environ["PATH_INFO"].endswith("/draft"):
            saves_land.wait(timeout=30)
        return handle(environ, start_response)

    app.wsgi_app = late_saves
    yield saves_land
    saves_land.set()
    app.wsgi_app = handle


def test_an_edit_whose_save_is_late_survives_a_reload(page, live_server, session, saves_land):
    """Reloading right after an edit: the new page renders before the last save lands, and restores the edit."""
    from playwright.sync_api import expect

    assignment_id = open_first_task(page, live_server, session)
    critique = page.locator(".an-critique-box[data-answer='A'] textarea")
    cid = critique.get_attribute("id").removeprefix("critique-")
    press(page, "a", "n")
    type_and_leave(page, "Right formula.")
    wait_until_saved(page)  # the server holds a draft from before the edit

    saves_land.clear()
    press(page, "n", "Control+End")
    type_and_leave(page, " Check the tax shield.")
    page.reload()  # at once: well within the 3 s between autosaves
    wait_for_page(page)
    assert saved_draft(session, assignment_id).critiques == {cid: "Right formula."}  # the page rendered the older draft
    expect(critique).to_have_value("Right formula. Check the tax shield.")
    expect(page.locator("#an-restored")).to_have_text("Restored unsaved changes from this browser.")
    expect(page.locator("#an-saved")).to_have_text("Unsaved changes")

    saves_land.set()  # the saves land; the restored page's own autosave carries the edit too
    wait_until_saved(page)
    press(page, "Shift+3")  # a further change is saved on top of the restored edit, not of the older draft
    wait_until_saved(page)
    draft = saved_draft(session, assignment_id)
    assert (draft.critiques, draft.confidence) == ({cid: "Right formula. Check the tax shield."}, 3)
    assert page.evaluate("Object.keys(localStorage)") == []  # confirmed saves retired the local copy


def test_a_local_copy_is_judged_against_the_server_draft_it_was_made_on(page, live_server, session):
    from playwright.sync_api import expect

    assignment_id = open_first_task(page, live_server, session)
    critique = page.locator(".an-critique-box[data-answer='A'] textarea")
    cid = critique.get_attribute("id").removeprefix("critique-")
    press(page, "a", "n")
    type_and_leave(page, "Saved on the server.")
    wait_until_saved(page)
    put_copy = """([key, cid, text, time, base]) => localStorage.setItem(key, JSON.stringify({
        data: {critiques: {[cid]: text}}, edit: 3, time: Date.now() + time, base: base ?? document.getElementById('judgement').dataset.savedAt}))"""
    key = f"rlhf-app:draft:{assignment_id}"

    # Made an hour ago on an older draft (say, before work on another device): the server's draft wins.
    page.evaluate(put_copy, [key, cid, "An hour old.", -3_600_000, "2000-01-01T00:00:00+00:00"])
    page.reload()
    wait_for_page(page)
    expect(critique).to_have_value("Saved on the server.")
    expect(page.locator("#an-restored")).to_be_hidden()
    assert page.evaluate("Object.keys(localStorage)") == []

    # Made on the draft the server still holds: the copy wins, even from a clock a day behind.
    page.evaluate(put_copy, [key, cid, "Typed after the last save.", -86_400_000, None])
    page.reload()
    wait_for_page(page)
    expect(critique).to_have_value("Typed after the last save.")
    expect(page.locator("#an-restored")).to_be_visible()
    wait_until_saved(page)
    assert saved_draft(session, assignment_id).critiques == {cid: "Typed after the last save."}
    assert page.evaluate("Object.keys(localStorage)") == []
