"""Reading the next batches of rows in a thread while the export works on the current one.

A PostgreSQL connection answers one FETCH at a time and only when asked, so without this the
server's work and Python's take turns. psycopg releases the GIL while it waits for the server,
so a reader thread lets the two overlap (all readers share the export's connection, whose lock
keeps their FETCHes apart; the main thread does not use the connection meanwhile).
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Iterator

_END = object()


class Prefetcher:
    """Iterates the rows of ``batches`` (an iterator of row lists), reading ``depth`` batches ahead.

    ``close()`` stops the reader and waits for it, so the cursor can be closed safely afterwards.
    An exception in the reader is raised in the consumer.
    """

    def __init__(self, batches: Iterator[list[Any]], depth: int = 2) -> None:
        self._batches = batches
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="export-prefetch", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for batch in self._batches:
                if not self._put(batch):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)
            return
        self._put(_END)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
