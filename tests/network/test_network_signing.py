import hashlib
import hmac

import pytest

from network.signing import SIGNATURE_HEADER, TOLERANCE_SECONDS, SignatureError, sign, sign_v2, verify

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
    forged = f"t={NOW},v1={hmac.new(b'', f'{NOW}.'.encode() + BODY, hashlib.sha256).hexdigest()}"
    with pytest.raises(SignatureError, match="secret"):
        verify("", BODY, forged, now=NOW)


def test_empty_secret_cannot_sign():
    with pytest.raises(SignatureError, match="secret"):
        sign("", BODY)


def test_sign_rejects_str_body():
    with pytest.raises(TypeError):
        sign(SECRET, BODY.decode())


# v2: domain-separated signatures bound to the method and path.
POST_PATH = "/moderation/actions"
BOTH = ("v1", "v2")


def _v2_expected(secret, timestamp, method, path, body):
    key = hmac.new(secret.encode(), b"jury-signature-v2", hashlib.sha256).digest()
    return hmac.new(key, f"{timestamp}\n{method}\n{path}\n".encode() + body, hashlib.sha256).hexdigest()


def test_v2_header_format_matches_the_documented_construction():
    header = sign_v2(SECRET, "POST", POST_PATH, BODY, timestamp=NOW)
    assert header == f"t={NOW},v2={_v2_expected(SECRET, NOW, 'POST', POST_PATH, BODY)}"
    v1 = sign(SECRET, BODY, timestamp=NOW).split(",")[1]
    assert sign_v2(SECRET, "post", POST_PATH, BODY, timestamp=NOW, with_v1=True) == (
        f"t={NOW},{v1},v2={_v2_expected(SECRET, NOW, 'POST', POST_PATH, BODY)}")


def test_v2_round_trip_and_v1_still_accepted_where_both_are():
    v2 = sign_v2(SECRET, "POST", POST_PATH, BODY, timestamp=NOW)
    v1 = sign(SECRET, BODY, timestamp=NOW)
    both = sign_v2(SECRET, "POST", POST_PATH, BODY, timestamp=NOW, with_v1=True)
    for header in (v1, v2, both):
        assert verify(SECRET, BODY, header, method="POST", path=POST_PATH, schemes=BOTH, now=NOW) == NOW


@pytest.mark.parametrize("method, path, body", [
    ("GET", POST_PATH, BODY), ("PUT", POST_PATH, BODY), ("POST", "/moderation/action", BODY),
    ("POST", "/api/v1/posts", BODY), ("POST", POST_PATH, BODY + b" "),
])
def test_v2_refuses_another_method_path_or_body(method, path, body):
    header = sign_v2(SECRET, "POST", POST_PATH, BODY, timestamp=NOW)
    with pytest.raises(SignatureError, match="does not match the request method, path and body"):
        verify(SECRET, body, header, method=method, path=path, schemes=BOTH, now=NOW)


def test_a_v2_only_receiver_refuses_v1():
    with pytest.raises(SignatureError, match="missing v2= signature"):
        verify(SECRET, BODY, sign(SECRET, BODY, timestamp=NOW), method="POST", path=POST_PATH,
               schemes=("v2",), now=NOW)


def test_a_v1_only_receiver_ignores_v2_beside_v1_and_refuses_v2_alone():
    both = sign_v2(SECRET, "POST", POST_PATH, BODY, timestamp=NOW, with_v1=True)
    assert verify(SECRET, BODY, both, now=NOW) == NOW
    with pytest.raises(SignatureError, match="missing v1= signature"):
        verify(SECRET, BODY, sign_v2(SECRET, "POST", POST_PATH, BODY, timestamp=NOW), now=NOW)


def test_the_v1_digest_placed_under_v2_does_not_verify():
    # Same secret, same timestamp and bytes: the derived key keeps the two schemes apart.
    v1_hex = sign(SECRET, BODY, timestamp=NOW).split("=")[-1]
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, BODY, f"t={NOW},v2={v1_hex}", method="POST", path=POST_PATH, schemes=BOTH, now=NOW)


def test_v2_keeps_the_time_window():
    header = sign_v2(SECRET, "GET", "/x", b"", timestamp=NOW - TOLERANCE_SECONDS - 1)
    with pytest.raises(SignatureError, match="too old"):
        verify(SECRET, b"", header, method="GET", path="/x", schemes=("v2",), now=NOW)


@pytest.mark.parametrize("method, path", [("", "/x"), ("G ET", "/x"), ("GET", "x"), ("GET", "/a\nPOST")])
def test_v2_refuses_a_method_or_path_it_cannot_encode_unambiguously(method, path):
    with pytest.raises(SignatureError, match="v2 needs"):
        sign_v2(SECRET, method, path, BODY, timestamp=NOW)


def test_v2_verification_needs_method_and_path():
    with pytest.raises(ValueError, match="method and path"):
        verify(SECRET, BODY, sign(SECRET, BODY, timestamp=NOW), schemes=BOTH, now=NOW)
    with pytest.raises(ValueError, match="schemes"):
        verify(SECRET, BODY, sign(SECRET, BODY, timestamp=NOW), schemes=("v3",), now=NOW)
