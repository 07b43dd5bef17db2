"""A circuit breaker per network endpoint, so a failing network is not hammered with retries.

Closed: every delivery goes out. After `threshold` consecutive failed deliveries (timeouts,
connection errors, 5xx, 408, 429) the breaker opens for `cooldown` seconds: deliveries are put
off without an HTTP call. When the cool-down ends the breaker is half-open: one delivery (the
probe) goes out; its success closes the breaker, its failure opens it for another cool-down.

The state lives in Redis when a client is given, so every worker process shares one breaker per
endpoint; otherwise in this process's memory. A Redis that cannot be reached never blocks a
delivery: the breaker then lets everything through (the delivery's own retries still apply).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 5
DEFAULT_COOLDOWN = 60.0
_KEY_PREFIX = "jury:breaker:"


@dataclass(frozen=True)
class Decision:
    """Whether a delivery may go out now, and if not, how long to wait before trying again."""

    allowed: bool
    retry_after: float = 0.0
    probe: bool = False


class _MemoryState:
    """Breaker state of one process: endpoint -> [consecutive failures, open until, probe until]."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, list[float]] = {}

    def decide(self, key: str, now: float, probe_ttl: float) -> Decision:
        with self._lock:
            state = self._states.get(key)
            if state is None:
                return Decision(True)

            def take_probe() -> bool:
                state[2] = now + probe_ttl
                return True

            return _decide(now, state[1], state[2], probe_ttl, take_probe)

    def failure(self, key: str, now: float, threshold: int, cooldown: float) -> bool:
        with self._lock:
            state = self._states.setdefault(key, [0, 0.0, 0.0])
            state[0] += 1
            if state[0] >= threshold or state[1]:
                state[1], state[2] = now + cooldown, 0.0
                return True
            return False

    def success(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)


class _RedisState:
    """Breaker state shared by every process through one Redis hash per endpoint."""

    def __init__(self, client: Any) -> None:
        self._redis = client

    def decide(self, key: str, now: float, probe_ttl: float) -> Decision:
        fields = self._redis.hmget(key, "open_until", "probe_until")
        open_until = float(fields[0] or 0)
        probe_until = float(fields[1] or 0)

        def take_probe() -> bool:
            # Only one process wins the probe: the field is set only if nobody set a live one.
            script = ("local p = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0') "
                      "if p > tonumber(ARGV[1]) then return 0 end "
                      "redis.call('HSET', KEYS[1], 'probe_until', ARGV[2]) return 1")
            return bool(self._redis.eval(script, 1, key, repr(now), repr(now + probe_ttl)))

        return _decide(now, open_until, probe_until, probe_ttl, take_probe)

    def failure(self, key: str, now: float, threshold: int, cooldown: float) -> bool:
        pipe = self._redis.pipeline()
        pipe.hincrby(key, "failures", 1)
        pipe.hget(key, "open_until")
        failures, open_until = pipe.execute()
        if int(failures) >= threshold or float(open_until or 0):
            self._redis.hset(key, mapping={"open_until": repr(now + cooldown), "probe_until": "0"})
            # A forgotten endpoint's state expires on its own.
            self._redis.expire(key, int(cooldown * 10) + 3600)
            return True
        self._redis.expire(key, int(cooldown * 10) + 3600)
        return False

    def success(self, key: str) -> None:
        self._redis.delete(key)


def _decide(now: float, open_until: float, probe_until: float, probe_ttl: float,
            take_probe: Callable[[], bool]) -> Decision:
    """Closed: go. Open: wait out the cool-down. Half-open: one probe goes, the others wait."""
    if not open_until:
        return Decision(True)
    if now < open_until:
        return Decision(False, open_until - now)
    if probe_until <= now and take_probe():
        return Decision(True, probe=True)
    return Decision(False, max(probe_until - now, 0.0) or probe_ttl)


class CircuitBreaker:
    """Consecutive-failure breaker keyed by endpoint URL; state in Redis (shared) or in memory."""

    def __init__(self, *, threshold: int = DEFAULT_THRESHOLD, cooldown: float = DEFAULT_COOLDOWN,
                 redis: Any = None, probe_ttl: float | None = None, clock: Callable[[], float] = time.time):
        if threshold < 1 or cooldown <= 0:
            raise ValueError("threshold must be >= 1 and cooldown > 0")
        self.threshold = threshold
        self.cooldown = cooldown
        # A probe whose worker died must not hold the breaker half-open for ever.
        self.probe_ttl = probe_ttl if probe_ttl is not None else cooldown
        self._clock = clock
        self._memory = _MemoryState()
        self._redis = _RedisState(redis) if redis is not None else None

    @staticmethod
    def key(endpoint: str) -> str:
        """The state's name for an endpoint (hashed: URLs may hold credentials)."""
        return _KEY_PREFIX + hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:32]

    def _call(self, method: str, *args: Any) -> Any:
        if self._redis is not None:
            try:
                return getattr(self._redis, method)(*args)
            except Exception as exc:  # noqa: BLE001 - any Redis trouble: fall back, never block a delivery
                log.warning("circuit breaker state unavailable in Redis (%s); using this process's", type(exc).__name__)
        return getattr(self._memory, method)(*args)

    def before(self, endpoint: str) -> Decision:
        """May a delivery to `endpoint` go out now?"""
        return self._call("decide", self.key(endpoint), self._clock(), self.probe_ttl)

    def record_failure(self, endpoint: str) -> bool:
        """Count a failed delivery; True when this failure opened (or re-opened) the breaker."""
        opened = self._call("failure", self.key(endpoint), self._clock(), self.threshold, self.cooldown)
        if opened:
            log.warning("circuit breaker open for %s s after repeated failures", self.cooldown)
        return opened

    def record_success(self, endpoint: str) -> None:
        """A delivery got through: close the breaker and forget the failures."""
        self._call("success", self.key(endpoint))
