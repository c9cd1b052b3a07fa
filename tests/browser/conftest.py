"""Browser fixtures: the real app served on 127.0.0.1 by a werkzeug server thread, and Chromium.

Debian's Chromium is driven through Playwright's Python package (never ``playwright install``).
Every page gets a 1366x768 viewport, the laptop the annotate page is designed for, and a test
fails when a page logs a JavaScript error or a Content-Security-Policy violation.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ..conftest import CHROMIUM_ARGS

PORTS = range(18100, 18200)
VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18100-18199 for the browser tests' server")


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served over real HTTP on 127.0.0.1 (threads, like a small gunicorn); its base URL."""
    server = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page; page errors and CSP violations fail the test."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: _note_console(message, problems))
    page.on("response", lambda response: _note_api_failure(response, problems))
    yield page
    context.close()
    assert problems == [], problems


def _note_console(message, problems: list[str]) -> None:
    text = message.text
    if "Content Security Policy" in text or "Content-Security-Policy" in text:
        problems.append(f"CSP violation: {text}")
    elif message.type == "error" and not text.startswith("Failed to load resource"):
        problems.append(f"console error: {text}")  # HTTP statuses are checked in _note_api_failure


def _note_api_failure(response, problems: list[str]) -> None:
    """Autosave and heartbeat calls must succeed; pages may answer 4xx on purpose."""
    if "/api/" in response.url and response.status >= 400:
        problems.append(f"{response.request.method} {response.url} answered {response.status}")


@pytest.fixture
def screenshot(page):
    """``screenshot("name")`` saves the viewport (and the whole page) under tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)

    def _shot(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))
        page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)
        return path

    return _shot


def sign_in_with_keyboard(page, base_url: str, email: str, password: str) -> None:
    """Sign in as a person would from the keyboard: the email field has focus on load."""
    page.goto(f"{base_url}/login")
    page.wait_for_selector("input[name='email']:focus")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/expert")
