"""Fixtures for generation tests: a local OpenAI-compatible server and a project whose models point at it."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from rlhf_app.generate.client import ModelClient
from rlhf_app.generate.registry import parse_allowed_hosts

from .. import factories
from .llm_server import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    server = LLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def allowed(llm_server: LLMServer) -> str:
    return f"127.0.0.1:{llm_server.port}"


def model_entry(server: LLMServer, name: str = "local-a", **overrides: Any) -> dict[str, Any]:
    return {"name": name, "base_url": server.url, "model": f"{name}-id", "max_tokens": 64,
            "params": {"temperature": 0.2, "seed": 7}, "max_in_flight": 8, "timeout_seconds": 5, "max_retries": 2, **overrides}


@pytest.fixture
def gen_project(session, llm_server):
    """A project with 6 prompts and two models (local-a, local-b) served by ``llm_server``."""
    project = factories.make_project(session, models=[model_entry(llm_server, "local-a"), model_entry(llm_server, "local-b")])
    for i in range(6):
        factories.make_prompt(session, project, external_id=f"q{i}", messages=[{"role": "user", "content": f"question {i}"}])
    session.commit()
    return project


class FakeSleep:
    """Records the backoff delays instead of waiting (no real time in tests)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def client_factory(fake_sleep: FakeSleep):
    """The real ModelClient with recorded (not real) backoff sleeps."""
    return lambda spec, api_key, allow: ModelClient(spec, api_key=api_key, allow=allow, sleep=fake_sleep, jitter=lambda: 0.5)


def make_client(server: LLMServer, fake_sleep: FakeSleep, allowed: str | None = None, api_key: str = "sk-test", **overrides: Any) -> ModelClient:
    from rlhf_app.generate.registry import parse_model_spec

    spec = parse_model_spec(model_entry(server, **overrides))
    return ModelClient(spec, api_key=api_key, allow=parse_allowed_hosts(allowed or f"127.0.0.1:{server.port}"),
                       sleep=fake_sleep, jitter=lambda: 0.5)


@pytest.fixture
def app_overrides(allowed: str) -> dict[str, Any]:
    return {"GENERATION_ALLOWED_HOSTS": allowed}


@pytest.fixture
def lab_project(session, login_as, llm_server):
    """(client, user, project): a signed-in lab user and a project of their workspace with two local models."""
    from rlhf_app.models import Role

    client, user = login_as(Role.lab)
    project = factories.make_project(session, workspace_id=user.workspace_id,
                                     models=[model_entry(llm_server, "local-a"), model_entry(llm_server, "local-b")])
    for i in range(4):
        factories.make_prompt(session, project, external_id=f"q{i}", messages=[{"role": "user", "content": f"question {i}"}])
    session.commit()
    return client, user, project


@pytest.fixture
def clean_queue(redis_url):
    """The generation queue on the test Redis (db 15), emptied before and after the test."""
    from redis import Redis
    from rq import Queue

    from rlhf_app.generate.jobs import QUEUE_NAME

    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield Queue(QUEUE_NAME, connection=connection)
    connection.flushdb()
