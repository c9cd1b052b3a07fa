"""Running the generation event loop: on a thread of its own, cancelled (not killed) by Ctrl-C.

A loop of our own works wherever the caller is (the CLI, an RQ work-horse, a notebook or a test
session that already runs a loop), and a SIGINT handler installed for the run cancels the main
task, so the run can store what arrived and report before it returns.
"""
from __future__ import annotations

import asyncio
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Coroutine, TypeVar

T = TypeVar("T")


class _Cancel:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None
        self.requested = False

    def request(self) -> None:
        self.requested = True
        if self.loop is not None and self.task is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.task.cancel)


def run_cancellable(make_coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine to its end; the first Ctrl-C cancels it, a second one interrupts as usual."""
    cancel = _Cancel()
    with ThreadPoolExecutor(1, thread_name_prefix="generation-loop") as pool:
        future = pool.submit(_run_loop, make_coroutine, cancel)
        restore = _on_sigint(cancel)
        try:
            return future.result()
        finally:
            restore()


def _run_loop(make_coroutine: Callable[[], Coroutine[Any, Any, T]], cancel: _Cancel) -> T:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # Ctrl-C goes to the main thread's handler
    loop = asyncio.new_event_loop()
    try:
        cancel.task, cancel.loop = loop.create_task(make_coroutine()), loop
        if cancel.requested:
            cancel.task.cancel()
        return loop.run_until_complete(cancel.task)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _on_sigint(cancel: _Cancel) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, previous)  # a second Ctrl-C interrupts for real
        cancel.request()

    signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, previous)
