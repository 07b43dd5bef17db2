import hashlib
import hmac

import pytest

from network.signing import SIGNATURE_HEADER, TOLERANCE_SECONDS, SignatureError, sign, verify

SECRET = "s3cret-key"
BODY = b'{"action_id":"a-1","type":"remove_post"}'
NOW = 1_700_000_000


def test_constants():
    assert SIGNATURE_HEADER == "X-Jury-Signature"
    assert TOLERANCE_SECONDS == 300


def test_round_trip_returns_timestamp():
    header = sign(SECRET, BODY, timestamp=NOW)
    assert verify(SECRET, BODY, header, now=NOW + 10) == NOW


def test_header_format_matches_contract():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, timestamp=NOW) == f"t={NOW},v1={expected}"


def test_sign_defaults_to_current_time():
    header = sign(SECRET, BODY)
    assert verify(SECRET, BODY, header) > 0


def test_tampered_body_rejected():
    header = sign(SECRET, BODY, timestamp=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, BODY + b" ", header, now=NOW)


def test_wrong_secret_rejected():
    header = sign("another-secret", BODY, timestamp=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, BODY, header, now=NOW)


def test_tampered_timestamp_rejected():
    header = sign(SECRET, BODY, timestamp=NOW).replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, BODY, header, now=NOW)


def test_old_timestamp_rejected():
    header = sign(SECRET, BODY, timestamp=NOW - TOLERANCE_SECONDS - 1)
    with pytest.raises(SignatureError, match="too old"):
        verify(SECRET, BODY, header, now=NOW)


def test_future_timestamp_rejected():
    header = sign(SECRET, BODY, timestamp=NOW + TOLERANCE_SECONDS + 1)
    with pytest.raises(SignatureError, match="in the future"):
        verify(SECRET, BODY, header, now=NOW)


def test_timestamp_at_tolerance_edge_accepted():
    for timestamp in (NOW - TOLERANCE_SECONDS, NOW + TOLERANCE_SECONDS):
        assert verify(SECRET, BODY, sign(SECRET, BODY, timestamp=timestamp), now=NOW) == timestamp


def test_custom_tolerance():
    header = sign(SECRET, BODY, timestamp=NOW - 30)
    with pytest.raises(SignatureError, match="too old"):
        verify(SECRET, BODY, header, tolerance=10, now=NOW)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(header):
    with pytest.raises(SignatureError, match="missing X-Jury-Signature"):
        verify(SECRET, BODY, header, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "t=abc,v1=" + "0" * 64,
        "t=-5,v1=" + "0" * 64,
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t={NOW},v1=nothex",
        f"t={NOW},v1={'0' * 63}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW},v1=\u00e9{'0' * 63}",
    ],
)
def test_malformed_header(header):
    with pytest.raises(SignatureError, match="malformed"):
        verify(SECRET, BODY, header, now=NOW)


def test_distinct_messages():
    messages = set()
    good = sign(SECRET, BODY, timestamp=NOW)
    for header, now in [
        (None, NOW),
        ("garbage", NOW),
        (good, NOW + 10_000),
        (good, NOW - 10_000),
        (sign("other", BODY, timestamp=NOW), NOW),
    ]:
        with pytest.raises(SignatureError) as info:
            verify(SECRET, BODY, header, now=now)
        messages.add(str(info.value))
    assert len(messages) == 5


def test_multiple_v1_entries_any_may_match():
    old = sign("old-secret", BODY, timestamp=NOW).split(",")[1]
    new = sign(SECRET, BODY, timestamp=NOW).split(",")[1]
    assert verify(SECRET, BODY, f"t={NOW},{old},{new}", now=NOW) == NOW
    assert verify(SECRET, BODY, f"t={NOW}, {new}, {old}", now=NOW) == NOW
    assert verify("old-secret", BODY, f"t={NOW},{new},{old}", now=NOW) == NOW
    with pytest.raises(SignatureError, match="does not match"):
        verify("third-secret", BODY, f"t={NOW},{old},{new}", now=NOW)


def test_unknown_schemes_ignored():
    header = sign(SECRET, BODY, timestamp=NOW) + ",v0=whatever"
    assert verify(SECRET, BODY, header, now=NOW) == NOW


def test_uppercase_hex_accepted():
    t, v1 = sign(SECRET, BODY, timestamp=NOW).split(",")
    assert verify(SECRET, BODY, f"{t},{v1.upper().replace('V1=', 'v1=')}", now=NOW) == NOW


def test_empty_secret_never_verifies():
    # A signature made with an empty key is computable by anyone.
    forged = "t=%d,v1=%s" % (NOW, hmac.new(b"", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest())
    with pytest.raises(SignatureError, match="secret"):
        verify("", BODY, forged, now=NOW)


def test_empty_secret_cannot_sign():
    with pytest.raises(SignatureError, match="secret"):
        sign("", BODY)


def test_sign_rejects_str_body():
    with pytest.raises(TypeError):
        sign(SECRET, BODY.decode())
