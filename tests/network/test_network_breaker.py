"""The circuit breaker: opens after repeated failures, lets one probe through after the cool-down,
shares its state through Redis between processes, and never blocks deliveries when Redis is gone."""
from __future__ import annotations

import threading

import pytest
from redis import Redis

from network.breaker import CircuitBreaker

URL = "http://network.example/moderation/actions"


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(params=["memory", "redis"])
def make_breaker(request):
    """Breakers on one store: this process's memory, or a shared Redis database."""
    clients = []

    def factory(clock, **kwargs):
        client = None
        if request.param == "redis":
            url = request.getfixturevalue("redis_url")
            client = Redis.from_url(url)
            clients.append(client)
        return CircuitBreaker(redis=client, clock=clock, **{"threshold": 3, "cooldown": 10.0, **kwargs})

    yield factory
    for client in clients:
        client.close()


def fail(breaker, times, url=URL):
    return [breaker.record_failure(url) for _ in range(times)]


def test_it_opens_after_the_threshold_of_consecutive_failures(make_breaker):
    clock = Clock()
    breaker = make_breaker(clock)
    assert fail(breaker, 2) == [False, False]
    assert breaker.before(URL).allowed
    assert fail(breaker, 1) == [True]
    decision = breaker.before(URL)
    assert not decision.allowed and decision.retry_after == pytest.approx(10.0)
    clock.now += 4
    assert breaker.before(URL).retry_after == pytest.approx(6.0)


def test_a_success_resets_the_count(make_breaker):
    breaker = make_breaker(Clock())
    fail(breaker, 2)
    breaker.record_success(URL)
    assert fail(breaker, 2) == [False, False]
    assert breaker.before(URL).allowed


def test_after_the_cooldown_one_probe_goes_and_its_result_decides(make_breaker):
    clock = Clock()
    breaker = make_breaker(clock)
    fail(breaker, 3)
    clock.now += 10.5
    probe = breaker.before(URL)
    assert probe.allowed and probe.probe
    # While the probe is out, everything else waits.
    assert not breaker.before(URL).allowed
    # The probe failed: open again for a full cool-down, without needing three more failures.
    assert breaker.record_failure(URL) is True
    assert breaker.before(URL).retry_after == pytest.approx(10.0)
    clock.now += 10.5
    assert breaker.before(URL).probe
    breaker.record_success(URL)
    assert breaker.before(URL).allowed and not breaker.before(URL).probe


def test_a_probe_whose_worker_died_does_not_hold_the_breaker_for_ever(make_breaker):
    clock = Clock()
    breaker = make_breaker(clock, probe_ttl=5.0)
    fail(breaker, 3)
    clock.now += 11
    assert breaker.before(URL).probe  # ...and never reports back
    assert not breaker.before(URL).allowed
    clock.now += 6
    assert breaker.before(URL).probe


def test_endpoints_have_separate_breakers(make_breaker):
    breaker = make_breaker(Clock())
    fail(breaker, 3)
    assert not breaker.before(URL).allowed
    assert breaker.before("http://other.example/moderation/actions").allowed


def test_workers_share_one_breaker_through_redis(redis_url):
    clock = Clock()
    one, two = (CircuitBreaker(threshold=3, cooldown=10, redis=Redis.from_url(redis_url), clock=clock)
                for _ in range(2))
    one.record_failure(URL)
    two.record_failure(URL)
    assert one.record_failure(URL) is True
    assert not two.before(URL).allowed
    clock.now += 11
    # Two workers race for the probe: exactly one wins it.
    results = []
    threads = [threading.Thread(target=lambda b=b: results.append(b.before(URL).allowed)) for b in (one, two) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_an_unreachable_redis_never_blocks_a_delivery():
    breaker = CircuitBreaker(threshold=2, cooldown=10,
                             redis=Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    assert breaker.before(URL).allowed
    # It falls back to this process's own count, so a failing network is still not hammered.
    breaker.record_failure(URL)
    assert breaker.record_failure(URL) is True
    assert not breaker.before(URL).allowed


def test_the_state_key_never_shows_the_url():
    assert "secret" not in CircuitBreaker.key("https://user:secret@network.example/")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        CircuitBreaker(threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(cooldown=0)
