"""Train/test assignment by prompt: a hash of the seed and the prompt's content, nothing random.

The key is the prompt's content hash (sha256 of its messages), not its row id, so the same
prompt loaded twice under two external ids still lands in one split: no prompt text is ever in
both train and test. The assignment depends only on (seed, prompt), so it never changes when
judgements are added or the export is filtered differently.
"""
from __future__ import annotations

import hashlib

SPLITS = ("train", "test")
_SCALE = 1 << 64


class Splitter:
    """``split_of(prompt_key)`` is "test" for about ``test_fraction`` of prompts, else "train".

    The hash is BLAKE2b keyed with the seed, 8 bytes read as an unsigned integer and compared
    with ``test_fraction`` of 2**64.
    """

    def __init__(self, seed: int, test_fraction: float) -> None:
        self._key = seed.to_bytes(8, "big")
        self._cutoff = int(test_fraction * _SCALE)

    def split_of(self, prompt_key: str) -> str:
        return self.assign(prompt_key)[0]

    def assign(self, prompt_key: str) -> tuple[str, int]:
        """The split and the 64-bit hash it came from (a compact id for counting distinct prompts)."""
        digest = hashlib.blake2b(prompt_key.encode(), digest_size=8, key=self._key).digest()
        number = int.from_bytes(digest, "big")
        return ("test" if number < self._cutoff else "train"), number
