"""The model client against a real local OpenAI-compatible server: retries, failures, SSRF guards."""
from __future__ import annotations

import gzip
import json

import pytest

from rlhf_app.generate import client as client_module
from rlhf_app.generate.aio import run_cancellable
from rlhf_app.generate.client import GenerationError

from .conftest import make_client
from .llm_server import LLMServer, Reply

MESSAGES = [{"role": "user", "content": "What is WACC?"}]


def complete(client, messages=MESSAGES):
    async def run():
        try:
            return await client.complete(messages)
        finally:
            await client.aclose()
    return run_cancellable(run)


def test_success_records_text_usage_finish_reason_and_sends_the_key(llm_server, fake_sleep):
    reply = complete(make_client(llm_server, fake_sleep))
    assert reply.text == "echo: What is WACC?"
    assert (reply.finish_reason, reply.prompt_tokens, reply.completion_tokens, reply.attempts) == ("stop", 11, 4, 1)
    seen = llm_server.chat_requests[0]
    assert seen.headers["authorization"] == "Bearer sk-test"
    assert seen.body["model"] == "local-a-id" and seen.body["temperature"] == 0.2 and seen.body["max_tokens"] == 64


def test_no_key_configured_sends_no_authorization_header(llm_server, fake_sleep, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secret")
    complete(make_client(llm_server, fake_sleep, api_key=""))
    headers = llm_server.chat_requests[0].headers
    assert "authorization" not in headers and "openai-organization" not in headers


def test_429_waits_for_retry_after_then_succeeds(llm_server, fake_sleep):
    llm_server.queue(Reply(status=429, headers={"Retry-After": "7"}))
    reply = complete(make_client(llm_server, fake_sleep))
    assert reply.attempts == 2 and len(llm_server.chat_requests) == 2
    assert fake_sleep.calls == [7.0]


def test_500_then_success_backs_off_with_jitter(llm_server, fake_sleep):
    llm_server.queue(Reply(status=500), Reply(status=503))
    reply = complete(make_client(llm_server, fake_sleep))
    assert reply.attempts == 3
    assert fake_sleep.calls == [0.375, 0.75]  # 0.5 s then 1 s, each halved plus half of it jittered (0.5)


def test_persistent_5xx_gives_up_after_max_retries(llm_server, fake_sleep):
    llm_server.queue(*[Reply(status=502)] * 3)
    with pytest.raises(GenerationError) as info:
        complete(make_client(llm_server, fake_sleep, max_retries=2))
    assert "HTTP 502" in info.value.message and "gave up after 3 attempts" in info.value.message
    assert info.value.status_code == 502 and not info.value.fatal


def test_timeout_is_retried_and_reported(llm_server, fake_sleep):
    llm_server.queue(Reply(delay=1.0), Reply(delay=1.0))
    with pytest.raises(GenerationError) as info:
        complete(make_client(llm_server, fake_sleep, timeout_seconds=0.2, max_retries=1))
    assert "timed out after 0.2 s" in info.value.message and info.value.attempts == 2


def test_timeout_then_success(llm_server, fake_sleep):
    llm_server.queue(Reply(delay=1.0))
    assert complete(make_client(llm_server, fake_sleep, timeout_seconds=0.2)).attempts == 2


def test_a_dropped_connection_is_retried_and_named_as_such(llm_server, fake_sleep):
    llm_server.queue(Reply(drop=True), Reply(drop=True))
    with pytest.raises(GenerationError) as info:
        complete(make_client(llm_server, fake_sleep, max_retries=1))
    assert "connection failed" in info.value.message and "timed out" not in info.value.message
    assert info.value.attempts == 2 and len(llm_server.chat_requests) == 2


def test_a_gzip_answer_is_decompressed(llm_server, fake_sleep):
    data = {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "compressed"}}]}
    llm_server.queue(Reply(body=gzip.compress(json.dumps(data).encode()), headers={"Content-Encoding": "gzip"}))
    assert complete(make_client(llm_server, fake_sleep)).text == "compressed"
    assert "gzip" in llm_server.chat_requests[0].headers["accept-encoding"]


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_an_oversized_answer_fails_without_retrying(llm_server, fake_sleep, monkeypatch, encoding):
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 4096)
    body = json.dumps({"choices": [{"message": {"content": "x" * 10_000}}]}).encode()
    llm_server.queue(Reply(body=gzip.compress(body) if encoding else body, headers={"Content-Encoding": encoding} if encoding else {}))
    with pytest.raises(GenerationError, match="larger than 4,096 bytes") as info:
        complete(make_client(llm_server, fake_sleep))
    assert info.value.attempts == 1 and len(llm_server.chat_requests) == 1


def test_malformed_json_fails_with_a_clear_error(llm_server, fake_sleep):
    llm_server.queue(Reply(body=b'{"choices": [ nope'))
    with pytest.raises(GenerationError, match="not valid JSON"):
        complete(make_client(llm_server, fake_sleep))
    assert len(llm_server.chat_requests) == 1


def test_empty_choices_fail_with_a_clear_error(llm_server, fake_sleep):
    llm_server.queue(Reply(choices=[]))
    with pytest.raises(GenerationError, match="without choices"):
        complete(make_client(llm_server, fake_sleep))


def test_finish_reason_length_is_kept(llm_server, fake_sleep):
    llm_server.queue(Reply(text="cut sho", finish_reason="length"))
    reply = complete(make_client(llm_server, fake_sleep))
    assert (reply.text, reply.finish_reason) == ("cut sho", "length")


def test_401_is_fatal_and_not_retried(llm_server, fake_sleep):
    llm_server.queue(Reply(status=401))
    with pytest.raises(GenerationError) as info:
        complete(make_client(llm_server, fake_sleep))
    assert info.value.fatal and info.value.status_code == 401 and len(llm_server.chat_requests) == 1


def test_an_echoed_key_is_redacted_from_errors(llm_server, fake_sleep):
    llm_server.queue(Reply(status=400, body=b'{"error": "bad key sk-test"}'))
    with pytest.raises(GenerationError) as info:
        complete(make_client(llm_server, fake_sleep))
    assert "sk-test" not in info.value.message and "[redacted]" in info.value.message


def test_endpoint_outside_the_allow_list_is_refused_before_connecting(llm_server, fake_sleep):
    with pytest.raises(GenerationError) as info:
        complete(make_client(llm_server, fake_sleep, allowed="api.openai.com"))
    assert info.value.fatal and "GENERATION_ALLOWED_HOSTS" in info.value.message
    assert llm_server.requests == []


def test_star_allows_public_addresses_only(llm_server, fake_sleep):
    with pytest.raises(GenerationError, match="resolves to 127.0.0.1"):
        complete(make_client(llm_server, fake_sleep, allowed="*"))
    assert llm_server.requests == []


def test_a_name_resolving_to_a_refused_address_is_refused_before_connecting(llm_server, fake_sleep):
    client = make_client(llm_server, fake_sleep, allowed="*", base_url=f"http://localhost:{llm_server.port}/v1")
    with pytest.raises(GenerationError) as info:
        complete(client)
    assert info.value.fatal and f"localhost:{llm_server.port} resolves to 127.0.0.1" in info.value.message
    assert llm_server.requests == []


def test_a_listed_name_is_checked_on_its_resolved_address(llm_server, fake_sleep):
    client = make_client(llm_server, fake_sleep, allowed=f"127.0.0.1:{llm_server.port}",
                         base_url=f"http://localhost:{llm_server.port}/v1")
    assert complete(client).text.startswith("echo:")


def test_redirect_is_not_followed_and_the_key_never_reaches_the_target(llm_server, fake_sleep):
    target = LLMServer().start()
    try:
        llm_server.queue(Reply(status=307, headers={"Location": f"{target.url}/chat/completions"}))
        allowed = f"127.0.0.1:{llm_server.port},127.0.0.1:{target.port}"
        with pytest.raises(GenerationError) as info:
            complete(make_client(llm_server, fake_sleep, allowed=allowed))
        assert info.value.fatal and "redirects are not followed" in info.value.message
        assert target.requests == []
    finally:
        target.stop()


def test_the_transport_sends_the_key_to_its_own_origin_only(llm_server):
    import httpx

    from rlhf_app.generate.client import GuardedTransport
    from rlhf_app.generate.registry import EndpointNotAllowed, parse_allowed_hosts, parse_model_spec

    from .conftest import model_entry

    other = LLMServer().start()
    spec = parse_model_spec(model_entry(llm_server))
    allow = parse_allowed_hosts(f"127.0.0.1:{llm_server.port},127.0.0.1:{other.port}")

    async def run():
        async with httpx.AsyncClient(transport=GuardedTransport(spec, "sk-own", allow, 8)) as http:
            await http.post(f"{llm_server.url}/chat/completions", json={}, headers={"Authorization": "Bearer forged"})
            with pytest.raises(EndpointNotAllowed, match="belongs to its base_url only"):
                await http.post(f"{other.url}/chat/completions", json={})
    try:
        run_cancellable(run)
        assert llm_server.requests[0].headers["authorization"] == "Bearer sk-own"
        assert other.requests == []
    finally:
        other.stop()
