"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests and the bench, scriptable per test.

``POST /v1/chat/completions`` answers ``echo: <last user message>`` with usage and a finish
reason, after ``delay`` seconds. Tests queue one-off replies (``server.queue(...)``) or set rules
by prompt text (``server.rule("boom", Reply(status=500))``) for failures, redirects, slow answers,
malformed JSON and empty choices. Every request is recorded with its headers.
"""
from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    text: str | None = None  # None: echo the last user message
    finish_reason: str = "stop"
    body: bytes | None = None  # raw body instead of a chat completion
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None
    choices: list[Any] | None = None  # e.g. [] for "empty choices"
    drop: bool = False  # close the connection without answering


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256


class LLMServer:
    """Start with ``LLMServer().start()``; ``url`` is the base_url to configure."""

    def __init__(self, delay: float = 0.0, port: int = 0) -> None:
        self.delay = delay
        self.requests: list[Seen] = []
        self._queue: deque[Reply] = deque()
        self._rules: list[tuple[str, Reply]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), self._handler())
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LLMServer":
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def queue(self, *replies: Reply) -> None:
        """The next requests get these replies, in order; then the rules and the default apply."""
        self._queue.extend(replies)

    def rule(self, needle: str, reply: Reply) -> None:
        """Every request whose last user message contains ``needle`` gets ``reply``."""
        self._rules.append((needle, reply))

    @property
    def chat_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _choose(self, body: dict[str, Any] | None) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        last = _last_user(body)
        return next((reply for needle, reply in self._rules if needle in last), Reply())

    def _answer(self, reply: Reply, body: dict[str, Any] | None) -> tuple[int, dict[str, str], bytes]:
        if reply.body is not None:
            return reply.status, {"Content-Type": "application/json", **reply.headers}, reply.body
        if reply.status != 200:
            error = {"error": {"message": f"scripted {reply.status}", "type": "test"}}
            return reply.status, {"Content-Type": "application/json", **reply.headers}, json.dumps(error).encode()
        text = reply.text if reply.text is not None else f"echo: {_last_user(body)}"
        choices = reply.choices if reply.choices is not None else [
            {"index": 0, "finish_reason": reply.finish_reason, "message": {"role": "assistant", "content": text}}]
        data = {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": (body or {}).get("model", "?"),
                "choices": choices, "usage": {"prompt_tokens": 11, "completion_tokens": len(text.split()), "total_tokens": 11 + len(text.split())}}
        return 200, {"Content-Type": "application/json", **reply.headers}, json.dumps(data).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().setup()

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = _json_or_none(raw)
                server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = server._choose(body)
                delay = server.delay if reply.delay is None else reply.delay
                if delay and server._stopping.wait(delay):
                    return
                if reply.drop:
                    self.close_connection = True
                    return
                status, headers, payload = server._answer(reply, body)
                self._send(status, headers, payload)

            def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                head = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Scripted'}", f"Content-Length: {len(payload)}"]
                head += [f"{k}: {v}" for k, v in headers.items()]
                try:  # one write: headers and body in separate segments would meet Nagle + delayed ACK
                    self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
                except OSError:
                    pass  # the client gave up (a timeout test)

        return Handler


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _last_user(body: dict[str, Any] | None) -> str:
    messages = (body or {}).get("messages") or []
    users = [m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users else ""
