"""The model registry (``[[models]]`` in project.toml) and the endpoint allow-list.

A model spec names an OpenAI-compatible endpoint, the model id, the *name* of the environment
variable that holds its key (never the key), the system prompt and sampling parameters. The
allow-list (``GENERATION_ALLOWED_HOSTS``) is checked twice: on the configured URL before a run,
and on every resolved address before each connection (client.py), so DNS cannot move a request
somewhere the lab did not allow. Pure: no database, no network.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..common.errors import ValidationError
from ..common.text import text_problem

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
MAX_IN_FLIGHT = 64
SPEC_KEYS = {
    "name", "base_url", "model", "api_key_env", "system_prompt", "params", "max_tokens",
    "max_in_flight", "timeout_seconds", "max_retries",
}
# name: (type, low, high)
PARAMS: dict[str, tuple[Any, float, float]] = {
    "temperature": ((int, float), 0, 2), "top_p": ((int, float), 0, 1), "seed": (int, -2**63, 2**63 - 1),
    "presence_penalty": ((int, float), -2, 2), "frequency_penalty": ((int, float), -2, 2),
}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class EndpointNotAllowed(Exception):
    """The endpoint (or an address it resolves to) is not in GENERATION_ALLOWED_HOSTS."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    base_url: str
    model: str
    api_key_env: str | None = None
    system_prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None
    max_in_flight: int = 16
    timeout_seconds: float = 60.0
    max_retries: int = 4

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def request_params(self) -> dict[str, Any]:
        """Sampling parameters as sent with every request (and recorded with each completion)."""
        params = dict(self.params)
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params


# --- validation ----------------------------------------------------------------------------------

def model_spec_problems(spec: Any) -> list[str]:
    """Every problem of one ``[[models]]`` table, each naming the key and what is allowed."""
    if not isinstance(spec, dict):
        return ["must be a table"]
    problems = [f"unknown key '{k}' (allowed: {', '.join(sorted(SPEC_KEYS))})" for k in spec if k not in SPEC_KEYS]
    if not isinstance(spec.get("name"), str) or not NAME_RE.match(spec["name"]):
        problems.append(f"'name' must be 1-128 letters, digits and ._:/@+- characters, not {spec.get('name')!r}")
    problems += base_url_problems(spec.get("base_url"))
    problem = text_problem(spec.get("model"), max_length=200)
    if problem:
        problems.append(f"'model' {problem}")
    problems += _api_key_env_problems(spec.get("api_key_env"))
    problem = text_problem(spec.get("system_prompt", ""), max_length=100_000, allow_empty=True)
    if problem:
        problems.append(f"'system_prompt' {problem}")
    problems += params_problems(spec.get("params", {}))
    problems += _int_problems(spec, "max_tokens", 1, 1_000_000)
    problems += _int_problems(spec, "max_in_flight", 1, MAX_IN_FLIGHT)
    problems += _int_problems(spec, "max_retries", 0, 10)
    timeout = spec.get("timeout_seconds", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0.1 <= timeout <= 3600:
        problems.append(f"'timeout_seconds' must be a number from 0.1 to 3600, not {timeout!r}")
    return problems


def base_url_problems(url: Any) -> list[str]:
    """An http(s) URL with a host and no credentials, query or fragment."""
    if not isinstance(url, str) or len(url) > 2000:
        return [f"'base_url' must be an http or https URL, not {url!r}"]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return [f"'base_url' is not a valid URL ({exc})"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"'base_url' must be an http or https URL with a host, not {url!r}"]
    if parts.username or parts.password:
        return ["'base_url' must not contain a user or password; name the key's variable in 'api_key_env'"]
    if parts.query or parts.fragment:
        return ["'base_url' must not have a query string or fragment"]
    return []


def _api_key_env_problems(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str) or not ENV_RE.match(value):
        return ["'api_key_env' must be the NAME of an environment variable (e.g. OPENAI_API_KEY), never the key itself"]
    return []


def params_problems(params: Any) -> list[str]:
    if not isinstance(params, dict):
        return ["'params' must be a table"]
    problems = []
    for key, value in params.items():
        if key == "stop":
            if not (isinstance(value, list) and len(value) <= 4 and all(isinstance(s, str) and s for s in value)):
                problems.append("'params.stop' must be a list of at most 4 non-empty strings")
            continue
        if key not in PARAMS:
            problems.append(f"unknown parameter 'params.{key}' (allowed: {', '.join(sorted([*PARAMS, 'stop']))})")
            continue
        types, low, high = PARAMS[key]
        if isinstance(value, bool) or not isinstance(value, types) or not low <= value <= high:
            problems.append(f"'params.{key}' must be a number from {low} to {high}, not {value!r}")
    return problems


def _int_problems(spec: dict[str, Any], key: str, low: int, high: int) -> list[str]:
    value = spec.get(key)
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return [f"'{key}' must be a whole number from {low} to {high}, not {value!r}"]
    return []


# --- lookups -------------------------------------------------------------------------------------

def parse_model_spec(data: dict[str, Any]) -> ModelSpec:
    """A validated ModelSpec from a registry entry; raise ValidationError listing the problems."""
    problems = model_spec_problems(data)
    if problems:
        raise ValidationError({f"models.{data.get('name', '?')}": "; ".join(problems)})
    return ModelSpec(
        name=data["name"], base_url=data["base_url"].rstrip("/"), model=data["model"],
        api_key_env=data.get("api_key_env"), system_prompt=data.get("system_prompt") or None,
        params=dict(data.get("params", {})), max_tokens=data.get("max_tokens"),
        max_in_flight=data.get("max_in_flight", 16), timeout_seconds=float(data.get("timeout_seconds", 60)),
        max_retries=data.get("max_retries", 4),
    )


def model_names(registry: list[dict[str, Any]]) -> list[str]:
    return [entry.get("name", "") for entry in registry or []]


def find_model_specs(registry: list[dict[str, Any]], names: list[str]) -> list[ModelSpec]:
    """The specs named, in order; raise ValidationError naming unknown or repeated names."""
    by_name = {entry.get("name"): entry for entry in registry or []}
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        known = ", ".join(sorted(by_name)) or "none; add one with `rlhf models add` or [[models]] in project.toml"
        raise ValidationError({"models": f"unknown model(s) {', '.join(unknown) or '(none given)'}; registered: {known}"})
    if len(set(names)) != len(names):
        raise ValidationError({"models": "each model may be named once"})
    return [parse_model_spec(by_name[n]) for n in names]


def with_model(registry: list[dict[str, Any]], spec: dict[str, Any], *, replace: bool = False) -> list[dict[str, Any]]:
    """The registry with ``spec`` added (or replacing the entry of the same name when asked)."""
    parse_model_spec(spec)
    names = model_names(registry)
    if spec["name"] in names and not replace:
        raise ValidationError({"name": f"a model named '{spec['name']}' is already registered (use --replace)"})
    return [e for e in registry if e.get("name") != spec["name"]] + [spec]


# --- the allow-list ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AllowEntry:
    host: str | None = None  # a lowercase host name or IP literal
    network: IPNetwork | None = None  # an IP, or a CIDR range
    port: int | None = None


@dataclass(frozen=True)
class AllowList:
    """Parsed GENERATION_ALLOWED_HOSTS: host, host:port, IP, [IPv6]:port, CIDR, or * (any public address)."""

    entries: tuple[AllowEntry, ...] = ()
    any_public: bool = False

    def url_problem(self, base_url: str) -> str | None:
        """Why ``base_url`` may not be used, judged before any request; None when it may."""
        parts = urlsplit(base_url)
        host, port = (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)
        address = _ip_or_none(host)
        if any(_host_matches(e, host, port) for e in self.entries):
            return None
        if address is not None and self.address_allowed(host, port, address):
            return None
        if address is None and (self.any_public or any(e.network is not None for e in self.entries)):
            return None  # decided on the resolved address at connect time
        return (f"{host}:{port} is not in GENERATION_ALLOWED_HOSTS ({self.describe()}); "
                f"add it to the setting (e.g. RLHF_GENERATION_ALLOWED_HOSTS={host}:{port})")

    def address_allowed(self, host: str, port: int, address: IPAddress) -> bool:
        """Whether a connection to ``address`` (resolved from ``host``) may be opened."""
        host = host.lower()
        if any(e.network is not None and address in e.network and e.port in (None, port) for e in self.entries):
            return True
        if any(_host_matches(e, host, port) for e in self.entries) and not _never_a_model_server(address):
            return True
        return self.any_public and address.is_global

    def describe(self) -> str:
        items = [("*" if self.any_public else "")] + [_describe_entry(e) for e in self.entries]
        return ", ".join(i for i in items if i) or "empty"


def parse_allowed_hosts(setting: str) -> AllowList:
    """Parse the comma-separated setting; raise ValueError naming a bad entry."""
    entries, any_public = [], False
    for raw in (setting or "").split(","):
        item = raw.strip().lower()
        if not item:
            continue
        if item == "*":
            any_public = True
            continue
        entries.append(_parse_entry(item))
    return AllowList(tuple(entries), any_public)


def _parse_entry(item: str) -> AllowEntry:
    host, port = _split_port(item)
    try:
        return AllowEntry(network=ipaddress.ip_network(host, strict=False), port=port)
    except ValueError:
        pass
    if not re.match(r"^[a-z0-9]([a-z0-9.-]{0,252})$", host):
        raise ValueError(f"GENERATION_ALLOWED_HOSTS: {item!r} is not a host, host:port, IP or CIDR range")
    return AllowEntry(host=host, port=port)


def _split_port(item: str) -> tuple[str, int | None]:
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    if item.count(":") == 1:
        host, port = item.split(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"GENERATION_ALLOWED_HOSTS: {item!r} has a bad port")
        return host, int(port)
    return item, None


def _host_matches(entry: AllowEntry, host: str, port: int) -> bool:
    if entry.port not in (None, port):
        return False
    if entry.host is not None:
        return entry.host == host
    address = _ip_or_none(host)
    return address is not None and entry.network is not None and entry.network.num_addresses == 1 and address in entry.network


def _never_a_model_server(address: IPAddress) -> bool:
    # A listed *name* that resolves to link-local (cloud metadata, 169.254.169.254), multicast or
    # the unspecified address is refused: only an explicit IP or CIDR entry can allow those.
    return address.is_link_local or address.is_multicast or address.is_unspecified


def _ip_or_none(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _describe_entry(entry: AllowEntry) -> str:
    base = entry.host or (str(entry.network.network_address) if entry.network and entry.network.num_addresses == 1 else str(entry.network))
    return f"{base}:{entry.port}" if entry.port else base
