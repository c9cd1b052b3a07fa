"""Model specs and the allow-list: pure checks, no network."""
from __future__ import annotations

import ipaddress

import pytest

from rlhf_app.generate.registry import model_spec_problems, parse_allowed_hosts

GOOD = {"name": "gpt-4o-mini", "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini", "api_key_env": "OPENAI_API_KEY",
        "system_prompt": "Be exact.", "params": {"temperature": 0.7, "top_p": 1, "seed": 1}, "max_tokens": 1024,
        "max_in_flight": 64, "timeout_seconds": 30}


def test_a_complete_spec_has_no_problems():
    assert model_spec_problems(GOOD) == []


@pytest.mark.parametrize("change,problem", [
    ({"api_key_env": "sk-abc"}, "NAME of an environment variable"),
    ({"base_url": "ftp://x/v1"}, "http or https URL"),
    ({"base_url": "https://user:pw@x/v1"}, "must not contain a user or password"),
    ({"base_url": "https://x/v1?key=1"}, "query string"),
    ({"max_in_flight": 65}, "'max_in_flight' must be a whole number from 1 to 64"),
    ({"params": {"temperature": 3}}, "'params.temperature' must be a number from 0 to 2"),
    ({"params": {"logit_bias": {}}}, "unknown parameter 'params.logit_bias'"),
    ({"timeout_seconds": 0}, "'timeout_seconds' must be a number"),
    ({"model": ""}, "'model' must not be empty"),
    ({"api_key": "sk-abc"}, "unknown key 'api_key'"),
    ({"name": "has space"}, "'name' must be"),
])
def test_bad_specs_are_named(change, problem):
    problems = model_spec_problems({**GOOD, **change})
    assert any(problem in p for p in problems), problems


def test_project_toml_models_are_checked_by_the_loader():
    from rlhf_app.projects.loader import models_problems

    assert models_problems([{**GOOD, "max_in_flight": 0}]) == ["models #1: 'max_in_flight' must be a whole number from 1 to 64, not 0"]


@pytest.mark.parametrize("setting,url,allowed", [
    ("api.openai.com", "https://api.openai.com/v1", True),
    ("api.openai.com", "https://evil.test/v1", False),
    ("vllm.internal:8000", "http://vllm.internal:8000/v1", True),
    ("vllm.internal:8000", "http://vllm.internal:9000/v1", False),
    ("10.0.0.5", "http://10.0.0.5:8000/v1", True),
    ("10.0.0.0/8", "http://10.1.2.3/v1", True),
    ("*", "http://127.0.0.1/v1", False),
    ("*", "http://169.254.169.254/latest", False),
    ("*", "https://8.8.8.8/v1", True),
    ("", "https://api.openai.com/v1", False),
])
def test_url_checks(setting, url, allowed):
    assert (parse_allowed_hosts(setting).url_problem(url) is None) is allowed


@pytest.mark.parametrize("setting,host,address,allowed", [
    ("*", "example.com", "93.184.216.34", True),
    ("*", "example.com", "10.0.0.1", False),  # public name, private address: DNS rebinding
    ("*", "example.com", "169.254.169.254", False),
    ("vllm.internal:8000", "vllm.internal", "10.0.0.7", True),  # listed names may be private
    ("vllm.internal:8000", "vllm.internal", "169.254.169.254", False),  # but never metadata
    ("169.254.10.0/24", "x", "169.254.10.9", True),  # unless the lab lists that range
    ("127.0.0.1:8000", "localhost", "127.0.0.1", True),
])
def test_resolved_address_checks(setting, host, address, allowed):
    port = 8000 if ":8000" in setting else 443
    assert parse_allowed_hosts(setting).address_allowed(host, port, ipaddress.ip_address(address)) is allowed


def test_bad_allow_list_entries_are_named():
    with pytest.raises(ValueError, match="bad port"):
        parse_allowed_hosts("host:99999")
