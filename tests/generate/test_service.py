"""generate_completions end to end against the local server: stored rows, failures, resume, dry run."""
from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import func, select

from rlhf_app.common.errors import ValidationError
from rlhf_app.db import make_sessionmaker
from rlhf_app.generate.service import GenerationResult, generate_completions
from rlhf_app.models import Completion, CompletionSource, GenerationFailure, GenerationJob, GenerationJobStatus

from .. import factories
from .llm_server import Reply


@pytest.fixture
def session_factory(engine):
    return make_sessionmaker(engine)


def run(session_factory, project, models, allowed, client_factory, **kwargs) -> GenerationResult:
    return generate_completions(session_factory, project, models, allowed_hosts=allowed, client_factory=client_factory,
                                env={}, **kwargs)


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_generates_every_missing_completion_and_records_the_generation(session, session_factory, gen_project, allowed, client_factory):
    result = run(session_factory, gen_project, ["local-a", "local-b"], allowed, client_factory)
    assert (result.total, result.counts.completed, result.counts.failed) == (12, 12, 0)
    completion = session.scalar(select(Completion).where(Completion.model_name == "local-a").order_by(Completion.id).limit(1))
    assert completion.text.startswith("echo: question") and completion.source is CompletionSource.generated
    generation = completion.generation
    assert generation["endpoint"] == gen_project.models[0]["base_url"] and generation["model"] == "local-a-id"
    assert generation["params"] == {"temperature": 0.2, "seed": 7, "max_tokens": 64}
    assert generation["prompt_tokens"] == 11 and generation["completion_tokens"] == 3 and generation["finish_reason"] == "stop"
    assert generation["latency_ms"] > 0
    job = session.get(GenerationJob, result.job_id)
    assert (job.status, job.total, job.completed, job.failed) == (GenerationJobStatus.finished, 12, 12, 0)


def test_a_second_run_does_nothing_and_never_duplicates(session, session_factory, gen_project, allowed, client_factory, llm_server):
    run(session_factory, gen_project, ["local-a"], allowed, client_factory)
    again = run(session_factory, gen_project, ["local-a"], allowed, client_factory)
    assert (again.total, again.counts.completed) == (0, 0)
    assert count(session, Completion) == 6 and len(llm_server.chat_requests) == 6


def test_failures_are_recorded_listed_and_retried_by_the_next_run(session, session_factory, gen_project, allowed, client_factory, llm_server):
    llm_server.rule("question 3", Reply(status=500))
    result = run(session_factory, gen_project, ["local-a"], allowed, client_factory)
    assert (result.counts.completed, result.counts.failed) == (5, 1)
    assert result.counts.failures == ["local-a on q3: HTTP 500: {\"error\": {\"message\": \"scripted 500\", \"type\": \"test\"}} (gave up after 3 attempts)"]
    failure = session.scalar(select(GenerationFailure))
    assert (failure.model_name, failure.status_code, failure.attempts, failure.job_id) == ("local-a", 500, 3, result.job_id)
    assert "5 of 6 completions generated" in result.summary() and "1 failed" in result.summary()
    llm_server._rules.clear()
    again = run(session_factory, gen_project, ["local-a"], allowed, client_factory)
    assert (again.total, again.counts.completed) == (1, 1) and count(session, Completion) == 6


def test_finish_reason_length_is_kept_and_flagged(session, session_factory, gen_project, allowed, client_factory, llm_server):
    llm_server.rule("question 2", Reply(text="cut", finish_reason="length"))
    result = run(session_factory, gen_project, ["local-a"], allowed, client_factory)
    assert (result.counts.completed, result.counts.truncated) == (6, 1)
    cut = session.scalar(select(Completion).where(Completion.text == "cut"))
    assert cut.generation["finish_reason"] == "length" and cut.generation["truncated"] is True
    assert session.get(GenerationJob, result.job_id).truncated == 1


def test_a_fatal_error_stops_the_model_and_counts_what_was_not_attempted(session, session_factory, gen_project, allowed, client_factory, llm_server):
    llm_server.queue(Reply(status=401))
    result = run(session_factory, gen_project, ["local-a"], allowed, client_factory, concurrency=1)
    assert result.counts.failed == 1 and result.not_attempted == 5 and "HTTP 401" in result.stopped_models["local-a"]
    job = session.get(GenerationJob, result.job_id)
    assert "local-a stopped: HTTP 401" in job.error


def test_endpoint_outside_the_allow_list_fails_before_any_request(session, session_factory, gen_project, client_factory, llm_server):
    with pytest.raises(ValidationError, match="not in GENERATION_ALLOWED_HOSTS"):
        run(session_factory, gen_project, ["local-a"], "api.openai.com", client_factory)
    assert llm_server.requests == []
    job = session.scalar(select(GenerationJob))
    assert job.status is GenerationJobStatus.failed and "GENERATION_ALLOWED_HOSTS" in job.error


def test_a_missing_key_variable_fails_before_any_request(session, session_factory, llm_server, allowed, client_factory):
    from .conftest import model_entry

    project = factories.make_project(session, models=[model_entry(llm_server, api_key_env="RLHF_TEST_ABSENT_KEY")])
    factories.make_prompt(session, project)
    session.commit()
    with pytest.raises(ValidationError, match="RLHF_TEST_ABSENT_KEY"):
        run(session_factory, project, ["local-a"], allowed, client_factory)
    assert llm_server.requests == []


def test_the_key_comes_from_the_named_variable_and_is_never_stored(session, session_factory, llm_server, allowed, client_factory):
    from .conftest import model_entry

    project = factories.make_project(session, models=[model_entry(llm_server, api_key_env="LAB_KEY")])
    factories.make_prompt(session, project)
    session.commit()
    generate_completions(session_factory, project, ["local-a"], allowed_hosts=allowed, client_factory=client_factory,
                         env={"LAB_KEY": "sk-lab-secret"})
    assert llm_server.chat_requests[0].headers["authorization"] == "Bearer sk-lab-secret"
    dump = str([c.generation for c in session.scalars(select(Completion))]) + str(session.get(type(project), project.id).models)
    assert "sk-lab-secret" not in dump


@pytest.mark.parametrize("models,message", [(["nope"], "unknown model"), (["local-a", "local-a"], "once")])
def test_model_names_are_checked(session_factory, gen_project, allowed, client_factory, models, message):
    with pytest.raises(ValidationError) as info:
        run(session_factory, gen_project, models, allowed, client_factory)
    assert message in str(info.value.errors)


def test_concurrency_is_bounded(session, session_factory, gen_project, allowed, client_factory):
    with pytest.raises(ValidationError):
        run(session_factory, gen_project, ["local-a"], allowed, client_factory, concurrency=65)


def test_dry_run_sends_nothing_and_estimates_tokens(session, session_factory, gen_project, allowed, client_factory, llm_server):
    plans = run(session_factory, gen_project, ["local-a"], allowed, client_factory, dry_run=True)
    (plan,) = plans
    assert plan.requests == 6 and plan.estimated_prompt_tokens == sum(len(f"question {i}") for i in range(6)) // 4
    assert plan.max_completion_tokens == 6 * 64 and plan.sample_body["messages"][-1]["content"] == "question 0"
    assert plan.problems == [] and llm_server.requests == [] and count(session, GenerationJob) == 0


def test_system_prompt_is_prepended_unless_the_prompt_has_one(session, session_factory, llm_server, allowed, client_factory):
    from .conftest import model_entry

    project = factories.make_project(session, models=[model_entry(llm_server, system_prompt="Be terse.")])
    factories.make_prompt(session, project, messages=[{"role": "user", "content": "plain"}])
    factories.make_prompt(session, project, messages=[{"role": "system", "content": "Own."}, {"role": "user", "content": "own"}])
    session.commit()
    run(session_factory, project, ["local-a"], allowed, client_factory)
    firsts = sorted(r.body["messages"][0]["content"] for r in llm_server.chat_requests)
    assert firsts == ["Be terse.", "Own."]


def test_ctrl_c_mid_run_keeps_what_arrived_and_the_rerun_does_exactly_the_rest(session, session_factory, llm_server, allowed, client_factory):
    from .conftest import model_entry

    project = factories.make_project(session, models=[model_entry(llm_server)])
    for i in range(40):
        factories.make_prompt(session, project, messages=[{"role": "user", "content": f"p{i}"}])
    session.commit()
    llm_server.delay = 0.02

    def interrupt_after_ten(update):
        if update.done == 10:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does; the run's handler turns it into a cancellation

    first = run(session_factory, project, ["local-a"], allowed, client_factory, concurrency=4, progress=interrupt_after_ten)
    assert first.interrupted and 10 <= first.counts.completed < 40
    assert count(session, Completion) == first.counts.completed
    assert session.get(GenerationJob, first.job_id).status is GenerationJobStatus.cancelled
    second = run(session_factory, project, ["local-a"], allowed, client_factory, concurrency=4)
    assert (second.total, second.counts.completed, second.counts.duplicates) == (40 - first.counts.completed, 40 - first.counts.completed, 0)
    assert count(session, Completion) == 40
    texts = session.scalars(select(Completion.text)).all()
    assert sorted(texts) == sorted(f"echo: p{i}" for i in range(40))


def test_a_queued_job_whose_model_was_removed_fails_with_the_reason(session, session_factory, gen_project, allowed, client_factory):
    from rlhf_app.generate.service import create_generation_job, run_generation_job

    job = create_generation_job(session, gen_project, ["local-b"], allowed_hosts=allowed)
    gen_project.models = [m for m in gen_project.models if m["name"] != "local-b"]
    session.commit()
    with pytest.raises(ValidationError):
        run_generation_job(session_factory, job.id, allowed_hosts=allowed, env={}, client_factory=client_factory)
    session.refresh(job)
    assert job.status is GenerationJobStatus.failed and "unknown model(s) local-b" in job.error


def test_failures_name_the_prompt_in_the_job_description(session, session_factory, gen_project, allowed, client_factory, llm_server):
    from rlhf_app.generate.service import describe_job

    llm_server.rule("question 1", Reply(status=400))
    result = run(session_factory, gen_project, ["local-a"], allowed, client_factory)
    failure = describe_job(session, session.get(GenerationJob, result.job_id))["failures"][0]
    assert (failure["prompt"], failure["model"], failure["status_code"], failure["attempts"]) == ("q1", "local-a", 400, 1)


def test_a_job_whose_process_died_shows_as_stalled_and_the_next_run_closes_it(session, session_factory, gen_project, allowed, client_factory):
    import datetime as dt

    from rlhf_app.common.clock import utcnow
    from rlhf_app.generate.service import describe_job

    quiet = utcnow() - dt.timedelta(minutes=5)
    dead = GenerationJob(project_id=gen_project.id, model_names=["local-a"], status=GenerationJobStatus.running, total=6,
                         completed=2, started_at=quiet, updated_at=quiet)
    alive = GenerationJob(project_id=gen_project.id, model_names=["local-b"], status=GenerationJobStatus.running, total=6,
                          started_at=utcnow(), updated_at=utcnow())
    session.add_all([dead, alive])
    session.commit()
    assert "No sign of life from this run since" in describe_job(session, dead)["stalled"]
    assert describe_job(session, alive)["stalled"] is None
    result = run(session_factory, gen_project, ["local-a"], allowed, client_factory)
    assert result.counts.completed == 6
    session.rollback()  # see the other connections' commits
    assert dead.status is GenerationJobStatus.failed and "stopped without finishing" in dead.error and dead.finished_at
    assert alive.status is GenerationJobStatus.running  # still sending its heartbeat: left alone


def test_the_writer_touches_the_job_while_nothing_arrives(session, session_factory, gen_project, monkeypatch):
    import time

    from rlhf_app.generate import writer as writer_module

    monkeypatch.setattr(writer_module, "HEARTBEAT_SECONDS", 0.05)
    job = GenerationJob(project_id=gen_project.id, model_names=["local-a"], status=GenerationJobStatus.running)
    session.add(job)
    session.commit()
    writer = writer_module.ResultWriter(session_factory, job.id)
    writer.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            session.rollback()
            session.refresh(job)
            if job.updated_at is not None:
                break
            time.sleep(0.02)
    finally:
        counts = writer.close()
    assert job.updated_at is not None and (counts.completed, counts.failed) == (0, 0)
