"""Retry timing for deliveries that ended in Outcome.RETRY."""

from __future__ import annotations

import random

MAX_ATTEMPTS = 12

# Beyond this the delay is far past any sane cap; stops float overflow for absurd attempt numbers.
_MAX_EXPONENT = 64


def retry_delay(attempt: int, *, base: float = 15.0, cap: float = 3600.0, rng=random) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based); jittered so a backlog never retries in lockstep."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    ceiling = min(cap, base * 2 ** min(attempt - 1, _MAX_EXPONENT))
    # Jitter below the ceiling rather than around it, so the cap holds and capped retries still spread out.
    return ceiling * rng.uniform(0.75, 1.0)
