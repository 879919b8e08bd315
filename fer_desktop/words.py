"""Numbers in words a user reads: '1 face', '3 faces'."""

from __future__ import annotations


def count(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1 (the nouns used here take an 's')."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
