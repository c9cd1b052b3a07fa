"""JSON Lines encoding that survives naive line readers, and files written with their sha256.

orjson writes UTF-8 as is and escapes control characters (NUL included), but not U+2028,
U+2029 or U+0085, which ``str.splitlines`` and JavaScript treat as line breaks: those are
escaped after encoding. Their UTF-8 sequences cannot occur inside another character, so a byte
replace is exact. A lone surrogate cannot be encoded to UTF-8; such text is repaired with
U+FFFD instead of crashing the export (input validation rejects it, this is a safety net).
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, BinaryIO

import orjson

_LINE_BREAKERS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"), (b"\xc2\x85", b"\\u0085"))
_SURROGATE = re.compile("[\ud800-\udfff]")
FLUSH_BYTES = 1 << 20


def escape_line_breakers(data: bytes) -> bytes:
    """Escape the Unicode line separators JSON allows raw but line readers split on."""
    if data.isascii():  # one fast pass settles the common case
        return data
    for raw, escaped in _LINE_BREAKERS:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def encode_line(row: Any) -> tuple[bytes, bool]:
    """One row as a JSON line (not yet escaped) and whether text had to be repaired."""
    try:
        return orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE), False
    except orjson.JSONEncodeError:
        return orjson.dumps(repair_text(row), option=orjson.OPT_APPEND_NEWLINE), True


def dumps_line(row: Any) -> bytes:
    """A single finished line, for streaming answers."""
    return escape_line_breakers(encode_line(row)[0])


def repair_text(value: Any) -> Any:
    """Replace lone surrogates with U+FFFD anywhere inside ``value``."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {repair_text(k): repair_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [repair_text(v) for v in value]
    return value


class JsonlWriter:
    """Buffered JSON Lines file that counts rows and hashes exactly the bytes it writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self.bytes = 0
        self.repaired = 0
        self._sha = hashlib.sha256()
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._file: BinaryIO = open(path, "wb")

    def write(self, row: Any) -> None:
        self.write_many([row])

    def write_many(self, rows: list[Any]) -> None:
        for row in rows:
            try:
                line = orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)
            except orjson.JSONEncodeError:
                line, _ = encode_line(row)
                self.repaired += 1
            self._buffer.append(line)
            self._buffered += len(line)
        self.rows += len(rows)
        if self._buffered >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        data = escape_line_breakers(b"".join(self._buffer))
        self._sha.update(data)
        self._file.write(data)
        self.bytes += len(data)
        self._buffer, self._buffered = [], 0

    def close(self) -> None:
        """Flush, fsync and close; the file is complete on disk afterwards."""
        self.flush()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        self._file.close()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()
