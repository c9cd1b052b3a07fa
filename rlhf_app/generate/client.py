"""Calling one OpenAI-compatible endpoint safely: the only module that imports ``openai``.

Each model gets one ``AsyncOpenAI`` client over an ``httpx.AsyncClient`` that never follows
redirects, ignores proxy variables, checks every resolved address against the allow-list before
it connects (and connects to that vetted address, so DNS cannot change between check and use),
and adds the key itself, only on requests to the configured origin. Retries are ours
(``max_retries=0`` in the SDK): backoff with jitter on 408/409/429/5xx, timeouts and dropped
connections, honouring ``Retry-After``.

The request goes through ``AsyncOpenAI.post("/chat/completions")`` and the answer is parsed with
orjson here: the SDK's typed-params transform and response models cost about 1 ms of CPU per
request, the whole budget at 64 requests in flight, and parsing ourselves lets malformed JSON and
empty choices fail with a clear message.
"""
from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import random
import socket
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import httpcore
import httpx
from httpcore._utils import is_socket_readable
import openai
import orjson

from ..common.text import text_problem
from .registry import AllowList, EndpointNotAllowed, ModelSpec

RETRY_STATUSES = {408, 409, 429}
FATAL_STATUSES = {401, 403, 404}  # every later request would fail the same way
MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0
SHARD_SIZE = 8  # connections per pool: httpcore's pool does O(requests x connections) work per request
STRIPPED_HEADERS = ("authorization", "openai-organization", "openai-project")


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    attempts: int
    response_model: str | None = None


class GenerationError(Exception):
    """A request that failed for good; ``fatal`` means the model's other requests would fail too."""

    def __init__(self, message: str, *, status_code: int | None = None, attempts: int = 1, fatal: bool = False) -> None:
        super().__init__(message)
        self.message, self.status_code, self.attempts, self.fatal = message, status_code, attempts, fatal


class _Retryable(Exception):
    def __init__(self, message: str, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message, self.status_code, self.retry_after = message, status_code, retry_after


# --- the network layer ---------------------------------------------------------------------------

class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host, keeps the addresses the allow-list accepts and connects to the first."""

    def __init__(self, allow: AllowList) -> None:
        self._allow = allow
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        address = await self._vetted_address(host, port, timeout)
        return _Stream(await self._inner.connect_tcp(address, port, timeout, local_address, socket_options))

    async def _vetted_address(self, host: str, port: int, timeout: float | None) -> str:
        addresses = [host] if _is_ip(host) else await _resolve(host, port, timeout)
        for address in addresses:
            if self._allow.address_allowed(host, port, ipaddress.ip_address(address)):
                return address
        raise EndpointNotAllowed(f"{host}:{port} resolves to {', '.join(addresses)}, which GENERATION_ALLOWED_HOSTS "
                                 f"({self._allow.describe()}) does not allow")

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None):
        raise EndpointNotAllowed("unix sockets are not model endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    return list(dict.fromkeys(info[4][0] for info in infos))


class _Stream(httpcore.AsyncNetworkStream):
    """The anyio stream with a cheap ``is_readable``: httpcore asks it of every pooled connection
    on every request, and anyio rebuilds its whole extra-attributes table for each question."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner, self._socket = inner, inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> "_Stream":
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class _GuardedPoolTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool built on the guarded network backend."""

    def __init__(self, allow: AllowList, size: int) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=size,
            max_keepalive_connections=size, keepalive_expiry=30.0, network_backend=GuardedBackend(allow),
        )


class GuardedTransport(httpx.AsyncBaseTransport):
    """Sends only to the configured origin, sets the key itself, spreads requests over small pools."""

    def __init__(self, spec: ModelSpec, api_key: str, allow: AllowList, in_flight: int) -> None:
        self._origin = ("https" if spec.base_url.startswith("https") else "http", spec.host.lower(), spec.port)
        self._api_key = api_key
        shards = max(1, -(-in_flight // SHARD_SIZE))
        self._pools = [_GuardedPoolTransport(allow, SHARD_SIZE) for _ in range(shards)]
        self._busy = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check_origin(request.url)
        for name in STRIPPED_HEADERS:  # the SDK may add these from OPENAI_* variables of this process
            request.headers.pop(name, None)
        if self._api_key:
            request.headers["Authorization"] = f"Bearer {self._api_key}"
        index = self._busy.index(min(self._busy))
        self._busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._busy[index] -= 1
            raise
        response.stream = _CountedStream(response.stream, self._busy, index)
        return response

    def _check_origin(self, url: httpx.URL) -> None:
        port = url.port or (443 if url.scheme == "https" else 80)
        if (url.scheme, (url.host or "").lower(), port) != self._origin:
            raise EndpointNotAllowed(f"refusing to send a request to {url.scheme}://{url.host}:{port}; "
                                     "this model's key belongs to its base_url only")

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class _CountedStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any, busy: list[int], index: int) -> None:
        self._inner, self._busy, self._index, self._open = inner, busy, index, True

    async def __aiter__(self):
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._busy[self._index] -= 1
        await self._inner.aclose()


# --- the model client ----------------------------------------------------------------------------

class ModelClient:
    """One shared AsyncOpenAI client per model, with our retries and a clean error per failure."""

    def __init__(self, spec: ModelSpec, *, api_key: str, allow: AllowList,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, jitter: Callable[[], float] = random.random) -> None:
        self.spec, self._api_key, self._sleep, self._jitter = spec, api_key, sleep, jitter
        timeout = httpx.Timeout(spec.timeout_seconds, connect=min(10.0, spec.timeout_seconds))
        self._http = httpx.AsyncClient(transport=GuardedTransport(spec, api_key, allow, spec.max_in_flight),
                                       follow_redirects=False, trust_env=False, timeout=timeout)
        self._openai = openai.AsyncOpenAI(base_url=spec.base_url, api_key="set-by-transport",
                                          http_client=self._http, max_retries=0, timeout=spec.timeout_seconds)

    def request_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return {"model": self.spec.model, "messages": messages, **self.spec.request_params()}

    async def complete(self, messages: list[dict[str, str]]) -> Reply:
        """One chat completion, retried on transient errors; raise GenerationError when it fails for good."""
        body = self.request_body(messages)
        attempts = self.spec.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._attempt(body, attempt)
            except _Retryable as exc:
                if attempt == attempts:
                    raise GenerationError(f"{exc.message} (gave up after {attempt} attempts)",
                                          status_code=exc.status_code, attempts=attempt) from None
                await self._sleep(self.backoff_seconds(attempt, exc.retry_after))
            except GenerationError as exc:
                exc.attempts = attempt
                raise
        raise AssertionError("unreachable")

    def backoff_seconds(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with equal jitter; never shorter than the server's Retry-After."""
        base = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (attempt - 1))
        delay = base / 2 + self._jitter() * base / 2
        return max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS)) if retry_after is not None else delay

    async def _attempt(self, body: dict[str, Any], attempt: int) -> Reply:
        started = time.perf_counter()
        try:
            response = await self._openai.post("/chat/completions", cast_to=httpx.Response, body=body)
        except EndpointNotAllowed as exc:
            raise GenerationError(self._scrub(str(exc)), fatal=True) from None
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APITimeoutError:
            raise _Retryable(f"timed out after {self.spec.timeout_seconds:g} s") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            if isinstance(cause, EndpointNotAllowed):
                raise GenerationError(self._scrub(str(cause)), fatal=True) from None
            raise _Retryable(self._scrub(f"connection failed ({type(cause).__name__}: {cause})")) from None
        latency_ms = (time.perf_counter() - started) * 1000
        return parse_reply(response.content, latency_ms, attempt)

    def _status_error(self, exc: openai.APIStatusError) -> Exception:
        code, headers = exc.status_code, exc.response.headers
        if 300 <= code < 400:
            return GenerationError(f"the endpoint answered HTTP {code} redirecting to {headers.get('location', '?')}; "
                                   "redirects are not followed: set base_url to the final address", status_code=code, fatal=True)
        message = self._scrub(f"HTTP {code}: {_short(exc.response.text)}")
        if code in RETRY_STATUSES or code >= 500:
            return _Retryable(message, code, retry_after_seconds(headers))
        return GenerationError(message, status_code=code, fatal=code in FATAL_STATUSES)

    def _scrub(self, text: str) -> str:
        """A hostile endpoint could echo the key back in an error; it never reaches the DB or logs."""
        return text.replace(self._api_key, "[redacted]") if self._api_key else text

    async def aclose(self) -> None:
        await self._openai.close()


def parse_reply(content: bytes, latency_ms: float, attempts: int) -> Reply:
    """The first choice's text, finish reason and usage; GenerationError when the answer is unusable."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise GenerationError(f"the endpoint's answer is not valid JSON: {_short(content.decode('utf-8', 'replace'))}") from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices:
        raise GenerationError("the endpoint answered without choices (an empty 'choices' list)")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text, finish = message.get("content"), choice.get("finish_reason")
    if not isinstance(text, str) or not text.strip():
        raise GenerationError(f"the answer has no text (finish_reason={finish!r})")
    problem = text_problem(text, max_length=1_000_000)
    if problem:
        raise GenerationError(f"the answer {problem}")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Reply(text=text, finish_reason=finish if isinstance(finish, str) else None,
                 prompt_tokens=_int_or_none(usage.get("prompt_tokens")), completion_tokens=_int_or_none(usage.get("completion_tokens")),
                 latency_ms=round(latency_ms, 1), attempts=attempts, response_model=data.get("model") if isinstance(data.get("model"), str) else None)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``retry-after-ms``, ``Retry-After`` in seconds, or ``Retry-After`` as an HTTP date."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(headers["retry-after"]).timestamp() - time.time())
    except (KeyError, TypeError, ValueError):
        return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
