"""Account actions on the webhook contract: the new fields, signed like every action, and their checks."""
import pytest

from network import ActionRequest, Outcome, WebhookAdapter
from network.contract import ACCOUNT_ACTION_TYPES, ACTION_PAYLOAD_SCHEMA

STATEMENT = "Suspended for 7 days: 3 removals in 90 days (harassment, spam, spam). You may appeal."


def account_request(type_="suspend_account", **overrides) -> ActionRequest:
    fields = dict(action_id=f"acct-{type_}-1", type=type_, post_id=None, account_id="u<9>", case_id="12",
                  rule="harassment", statement_of_reasons=STATEMENT, strike_count=3, verdict_ids=("4", "7", "12"))
    fields.update(overrides)
    return ActionRequest(**fields)


def test_a_suspension_is_sent_signed_with_its_duration_strikes_and_verdicts(fake_network):
    adapter = WebhookAdapter(fake_network.url, fake_network.secret, timeout=2.0)
    request = account_request(duration_days=7, appeal_url="https://jury.example/appeal/abc")
    assert adapter.deliver(request).outcome is Outcome.DONE
    [seen] = fake_network.received
    assert seen.signature_error is None and seen.headers["idempotency-key"] == request.action_id
    assert seen.payload == {
        "action_id": "acct-suspend_account-1", "type": "suspend_account", "post_id": None, "account_id": "u<9>",
        "case_id": "12", "rule": "harassment", "statement_of_reasons": STATEMENT,
        "appeal_url": "https://jury.example/appeal/abc",
        "strike_count": 3, "verdict_ids": ["4", "7", "12"], "duration_days": 7,
    }


def test_a_permanent_suspension_says_null_and_warnings_carry_no_duration(fake_network):
    adapter = WebhookAdapter(fake_network.url, fake_network.secret, timeout=2.0)
    adapter.deliver(account_request())
    adapter.deliver(account_request("warn_account", action_id="w-1", strike_count=1, verdict_ids=["4"]))
    adapter.deliver(account_request("unsuspend_account", action_id="u-1", strike_count=0, verdict_ids=()))
    ban, warning, lift = (seen.payload for seen in fake_network.received)
    assert ban["duration_days"] is None and "duration_days" in ban and account_request().permanent
    assert "duration_days" not in warning and warning["verdict_ids"] == ["4"] and warning["strike_count"] == 1
    assert lift["type"] == "unsuspend_account" and lift["verdict_ids"] == [] and "duration_days" not in lift


def test_post_actions_keep_their_payload_unchanged():
    payload = ActionRequest(action_id="a", type="remove_post", post_id="p", account_id="u", case_id="1",
                            rule="spam", statement_of_reasons="s").to_payload()
    assert set(payload) == {"action_id", "type", "post_id", "account_id", "case_id", "rule",
                            "statement_of_reasons"}


def test_a_refused_account_action_is_a_permanent_failure(fake_network):
    fake_network.respond(422, b'{"error":"account is already gone"}')
    result = WebhookAdapter(fake_network.url, fake_network.secret, timeout=2.0).deliver(account_request())
    assert result.outcome is Outcome.PERMANENT and result.status_code == 422


@pytest.mark.parametrize(("overrides", "message"), [
    ({"account_id": None}, "needs the account_id"),
    ({"account_id": ""}, "needs the account_id"),
    ({"duration_days": 0}, "duration_days"),
    ({"duration_days": True}, "duration_days"),
    ({"duration_days": 2.5}, "duration_days"),
    ({"type": "warn_account", "duration_days": 3}, "on suspend_account only"),
    ({"strike_count": -1}, "strike_count"),
    ({"verdict_ids": (1, 2)}, "verdict_ids"),
    ({"verdict_ids": tuple(str(n) for n in range(101))}, "at most 100"),
])
def test_malformed_account_actions_are_refused_before_sending(overrides, message):
    with pytest.raises(ValueError, match=message):
        account_request(**overrides)


def test_the_published_schema_names_every_field_the_payload_can_carry():
    properties = ACTION_PAYLOAD_SCHEMA["properties"]
    for type_ in ACCOUNT_ACTION_TYPES:
        payload = account_request(type_, duration_days=None, appeal_url="https://x.test/a").to_payload()
        assert set(payload) <= set(properties) and set(ACTION_PAYLOAD_SCHEMA["required"]) <= set(payload)
    assert set(ACCOUNT_ACTION_TYPES) <= set(properties["type"]["enum"])
