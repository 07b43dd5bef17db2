import pytest

from network import (
    ACTION_TYPES,
    ActionRequest,
    AdapterConfigError,
    NetworkAdapter,
    Outcome,
    WebhookAdapter,
    make_adapter,
)


def _request(**overrides):
    fields = dict(
        action_id="act-1",
        type="remove_post",
        post_id="p1",
        account_id="u1",
        case_id="c1",
        rule="R2",
        statement_of_reasons="Because.",
    )
    fields.update(overrides)
    return ActionRequest(**fields)


def test_action_types():
    assert ACTION_TYPES == (
        "remove_post",
        "restore_post",
        "hide_post",
        "unhide_post",
        "warn_account",
        "suspend_account",
        "unsuspend_account",
        "notify",
    )


def test_unknown_action_type_rejected():
    with pytest.raises(ValueError, match="unknown action type"):
        _request(type="delete_everything")


@pytest.mark.parametrize("action_id", ["", "has space", "line\nbreak", 42])
def test_action_id_must_be_header_safe(action_id):
    with pytest.raises(ValueError, match="action_id"):
        _request(action_id=action_id)


def test_payload_omits_unset_appeal_url():
    assert _request().to_payload() == {
        "action_id": "act-1",
        "type": "remove_post",
        "post_id": "p1",
        "account_id": "u1",
        "case_id": "c1",
        "rule": "R2",
        "statement_of_reasons": "Because.",
    }
    assert _request(appeal_url="https://jury.example/appeal/1").to_payload()["appeal_url"] == (
        "https://jury.example/appeal/1"
    )


def test_outcome_is_a_str_enum():
    assert Outcome.DONE == "done" and Outcome("retry") is Outcome.RETRY and Outcome.PERMANENT.value == "permanent"


@pytest.mark.parametrize("kind", ["webhook", "sandbox"])
def test_make_webhook_kinds(kind):
    adapter = make_adapter(kind, url="http://network.test/", secret="s")
    assert isinstance(adapter, WebhookAdapter)
    assert isinstance(adapter, NetworkAdapter)
    assert adapter.name == kind
    assert adapter.endpoint == "http://network.test/moderation/actions"


def test_mastodon_adapter_built_from_url_and_token():
    from network import MastodonAdapter

    adapter = make_adapter("mastodon", url="https://m.test/", secret="s", token="t")
    assert isinstance(adapter, MastodonAdapter)
    assert isinstance(adapter, NetworkAdapter)
    assert adapter.name == "mastodon"


@pytest.mark.parametrize("url, token, missing", [(None, "t", "NETWORK_URL"), ("https://m.test", "", "NETWORK_TOKEN")])
def test_mastodon_missing_settings_named(url, token, missing):
    with pytest.raises(AdapterConfigError, match=missing):
        make_adapter("mastodon", url=url, secret="s", token=token)


def test_unknown_kind_names_valid_kinds():
    with pytest.raises(AdapterConfigError) as info:
        make_adapter("myspace", url="http://x.test", secret="s")
    message = str(info.value)
    assert "myspace" in message
    for kind in ("webhook", "sandbox", "mastodon"):
        assert kind in message


@pytest.mark.parametrize(
    "url, secret, missing",
    [
        (None, "s", ["NETWORK_URL"]),
        ("http://x.test", None, ["NETWORK_WEBHOOK_SECRET"]),
        ("", "", ["NETWORK_URL", "NETWORK_WEBHOOK_SECRET"]),
        ("http://x.test", "   ", ["NETWORK_WEBHOOK_SECRET"]),
    ],
)
def test_missing_settings_named(url, secret, missing):
    with pytest.raises(AdapterConfigError) as info:
        make_adapter("webhook", url=url, secret=secret)
    for setting in missing:
        assert setting in str(info.value)
    if len(missing) == 1:
        other = {"NETWORK_URL", "NETWORK_WEBHOOK_SECRET"} - set(missing)
        assert other.pop() not in str(info.value)


@pytest.mark.parametrize("url", ["ftp://x.test", "x.test", "/relative", "http://", "http://x.test/?a=1"])
def test_bad_url_rejected(url):
    with pytest.raises(AdapterConfigError):
        WebhookAdapter(url, "s")


def test_repr_hides_secret():
    adapter = WebhookAdapter("https://x.test", "very-secret-value")
    assert "very-secret-value" not in repr(adapter)
