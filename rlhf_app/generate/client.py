"""Calling one OpenAI-compatible endpoint safely: the only module that imports ``openai``.

Each model gets one ``AsyncOpenAI`` client over an ``httpx.AsyncClient`` whose transport (an
aiohttp connection pool) never follows redirects, ignores proxy variables, checks every resolved
address against the allow-list before it connects (and connects to that vetted address, so DNS
cannot change between check and use), and adds the key itself, only on requests to the
configured origin. Retries are ours (``max_retries=0`` in the SDK): backoff with jitter on
408/409/429/5xx, timeouts and dropped connections, honouring ``Retry-After``.

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
import ssl
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import aiohttp
import aiohttp.abc
import httpx
import openai
import orjson

from ..common.text import text_problem
from .registry import AllowList, EndpointNotAllowed, ModelSpec

RETRY_STATUSES = {408, 409, 429}
FATAL_STATUSES = {401, 403, 404}  # every later request would fail the same way
MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0
STRIPPED_HEADERS = (b"authorization", b"openai-organization", b"openai-project", b"accept-encoding")
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a chat completion is far smaller; a hostile endpoint could send more


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

class GuardedResolver(aiohttp.abc.AbstractResolver):
    """Resolves a host name and keeps only the addresses the allow-list accepts, so the connector
    connects to a vetted address and DNS cannot change between the check and the connection."""

    def __init__(self, allow: AllowList) -> None:
        self._allow = allow
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[aiohttp.abc.ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept = [r for r in results if self._allow.address_allowed(host, port, ipaddress.ip_address(r["host"]))]
        if not kept:
            raise EndpointNotAllowed(_refusal(host, port, [r["host"] for r in results], self._allow))
        return kept

    async def close(self) -> None:
        await self._inner.close()


def _refusal(host: str, port: int, addresses: list[str], allow: AllowList) -> str:
    return (f"{host}:{port} resolves to {', '.join(dict.fromkeys(addresses))}, which GENERATION_ALLOWED_HOSTS "
            f"({allow.describe()}) does not allow")


class GuardedTransport(httpx.AsyncBaseTransport):
    """The SDK's HTTP transport: sends only to the configured origin, sets the key itself, and
    goes through one aiohttp connection pool (``in_flight`` connections, proxy variables ignored,
    redirects returned rather than followed) whose resolver is allow-listed.

    aiohttp connects to an IP-literal host without asking the resolver, so that case is checked
    here, before any connection. aiohttp rather than httpx's own pool: httpcore does work in
    proportion to the pooled connections on every request, which at 64 in flight cost more CPU
    than the rest of the request. The answer is read whole (at most MAX_RESPONSE_BYTES) and the
    connection goes straight back to the pool."""

    def __init__(self, spec: ModelSpec, api_key: str, allow: AllowList, in_flight: int) -> None:
        self._origin = ("https" if spec.base_url.startswith("https") else "http", spec.host.lower(), spec.port)
        self._authorization = [("Authorization", f"Bearer {api_key}")] if api_key else []
        self._allow, self._in_flight = allow, in_flight
        self._refusal = None
        if _is_ip(spec.host) and not allow.address_allowed(spec.host, spec.port, ipaddress.ip_address(spec.host)):
            self._refusal = _refusal(spec.host, spec.port, [spec.host], allow)
        self._session: aiohttp.ClientSession | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check_origin(request.url)
        if self._refusal:
            raise EndpointNotAllowed(self._refusal)
        # the SDK may add a key or organisation from OPENAI_* variables of this process: ours only
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                   if k.lower() not in STRIPPED_HEADERS] + self._authorization + [("Accept-Encoding", "gzip, deflate")]
        timeout = request.extensions.get("timeout", {})
        try:
            async with self._pool().request(
                request.method, str(request.url), headers=headers, data=await request.aread() or None,
                allow_redirects=False, timeout=aiohttp.ClientTimeout(sock_connect=timeout.get("connect"), sock_read=timeout.get("read")),
            ) as answer:
                body = await _read_capped(answer)
                decoded = [(k, v) for k, v in answer.raw_headers if k.lower() not in (b"content-encoding", b"content-length")]
                return httpx.Response(answer.status, headers=decoded, content=body, request=request)
        except TimeoutError as exc:  # aiohttp's timeouts subclass it
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc

    def _pool(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on first use: aiohttp wants a running event loop
            connector = aiohttp.TCPConnector(limit=self._in_flight, keepalive_timeout=30.0,
                                             resolver=GuardedResolver(self._allow), ssl=ssl.create_default_context())
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=True)
        return self._session

    def _check_origin(self, url: httpx.URL) -> None:
        port = url.port or (443 if url.scheme == "https" else 80)
        if (url.scheme, (url.host or "").lower(), port) != self._origin:
            raise EndpointNotAllowed(f"refusing to send a request to {url.scheme}://{url.host}:{port}; "
                                     "this model's key belongs to its base_url only")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


async def _read_capped(answer: aiohttp.ClientResponse) -> bytes:
    """The whole body, decompressed; GenerationError (not retried) past MAX_RESPONSE_BYTES."""
    too_large = GenerationError(f"the endpoint's answer is larger than {MAX_RESPONSE_BYTES:,} bytes")
    if (answer.content_length or 0) > MAX_RESPONSE_BYTES and not answer.headers.get("Content-Encoding"):
        raise too_large
    body = b""
    while len(body) <= MAX_RESPONSE_BYTES and not answer.content.at_eof():
        body += await answer.content.read(MAX_RESPONSE_BYTES + 1 - len(body))
    if len(body) > MAX_RESPONSE_BYTES:
        raise too_large
    return body


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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
        except openai.APIConnectionError as exc:  # APITimeoutError included
            cause = _root_cause(exc)
            if isinstance(cause, EndpointNotAllowed):
                raise GenerationError(self._scrub(str(cause)), fatal=True) from None
            if isinstance(cause, GenerationError):
                raise cause from None
            if isinstance(cause, (TimeoutError, httpx.TimeoutException)):
                raise _Retryable(f"timed out after {self.spec.timeout_seconds:g} s") from None
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


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception: the transport maps every aiohttp connection error to an httpx
    timeout, so the SDK's class alone cannot tell a timeout from a dropped connection."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


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
