import random

import pytest

from network.backoff import MAX_ATTEMPTS, retry_delay


class _Fixed:
    def __init__(self, fraction):
        self.fraction = fraction

    def uniform(self, low, high):
        return low + (high - low) * self.fraction


def test_max_attempts():
    assert MAX_ATTEMPTS == 12


def test_first_attempt_is_around_base():
    rng = random.Random(1)
    for _ in range(100):
        assert 15.0 * 0.7 <= retry_delay(1, rng=rng) <= 15.0


def test_grows_exponentially_then_caps():
    top = _Fixed(1.0)
    delays = [retry_delay(attempt, rng=top) for attempt in range(1, MAX_ATTEMPTS + 1)]
    assert delays[:4] == [15.0, 30.0, 60.0, 120.0]
    assert delays == sorted(delays)
    assert max(delays) == 3600.0
    assert delays[-1] == 3600.0


def test_never_exceeds_cap_even_for_huge_attempts():
    rng = random.Random(2)
    for attempt in (20, 100, 10_000):
        assert 0 < retry_delay(attempt, base=1.0, cap=60.0, rng=rng) <= 60.0


def test_jitter_spreads_delays_at_the_cap():
    rng = random.Random(3)
    delays = {retry_delay(MAX_ATTEMPTS, rng=rng) for _ in range(20)}
    assert len(delays) > 1


def test_attempt_is_one_based():
    with pytest.raises(ValueError):
        retry_delay(0)
