"""The Mastodon adapter against a local server that speaks the admin API over real HTTP."""
from __future__ import annotations

import json
import time

import pytest
from mastodon_mock import ADMIN_TOKEN, ALL_SCOPES, MockMastodon

from network import ActionRequest, AdapterConfigError, NetworkAdapter, Outcome
from network.mastodon import MastodonAdapter, StrikePolicy, parse_strike_policy, verify_hub_signature
from network.mastodon_client import MastodonClient, MastodonError, rate_limit_wait
from network.signing import SignatureError

STATEMENT = "Removed for breaking the rule 'Harassment'. Decided by a panel of volunteer jurors (3 of 3)."


@pytest.fixture
def mastodon():
    with MockMastodon() as server:
        server.add_account("100", "author")
        server.add_account("200", "reporter")
        server.add_account("201", "reporter2")
        server.add_status("9001", "100", "<p>you are all idiots</p>")
        server.add_status("9002", "100", "<p>another one</p>")
        server.add_report("11", "200", "100", ["9001"], rules=[{"id": "3", "text": "No harassment"}])
        server.add_report("12", "201", "100", ["9001", "9002"])
        yield server


def adapter_for(server, token=ADMIN_TOKEN, **kwargs) -> MastodonAdapter:
    return MastodonAdapter(server.url, token, timeout=3.0, **kwargs)


def request(type_="remove_post", post_id="9001", account_id="100", strikes=0, **extra) -> ActionRequest:
    return ActionRequest(action_id=f"act-{type_}", type=type_, post_id=post_id, account_id=account_id,
                         case_id="7", rule="harassment", statement_of_reasons=STATEMENT, prior_strikes=strikes,
                         **extra)


def test_it_is_a_network_adapter(mastodon):
    assert isinstance(adapter_for(mastodon), NetworkAdapter)


def test_first_removal_deletes_the_status_and_resolves_every_report_about_it(mastodon):
    result = adapter_for(mastodon).deliver(request())
    assert result.outcome is Outcome.DONE, result.detail
    assert mastodon.statuses["9001"]["deleted"] is True
    [deletion] = mastodon.status_actions
    assert deletion["type"] == "delete" and deletion["report_id"] in ("11", "12") and deletion["text"] == STATEMENT
    assert mastodon.reports["11"]["resolved"] and mastodon.reports["12"]["resolved"]
    # A first removal is a warning: the status action carried it, no extra strike on the account.
    assert mastodon.account_actions == []
    assert not mastodon.accounts["100"]["silenced"]
    receipt = json.loads(result.receipt)
    assert receipt["status"] == "deleted"


def test_repeated_removals_climb_the_strike_ladder(mastodon):
    result = adapter_for(mastodon).deliver(request(strikes=1))
    assert result.outcome is Outcome.DONE, result.detail
    [strike] = mastodon.account_actions
    assert strike["type"] == "silence" and strike["report_id"] in ("11", "12") and strike["text"] == STATEMENT
    assert mastodon.accounts["100"]["silenced"]
    mastodon.add_status("9003", "100", "<p>third</p>")
    mastodon.add_report("13", "200", "100", ["9003"])
    adapter_for(mastodon).deliver(request(post_id="9003", strikes=5))
    assert mastodon.account_actions[-1]["type"] == "suspend"
    assert mastodon.account_actions[-1]["report_id"] == "13"


def test_without_the_per_status_route_the_account_action_is_the_fallback():
    with MockMastodon(per_status=False) as server:
        server.add_account("100")
        server.add_status("9001", "100", "<p>x</p>")
        server.add_report("11", "200", "100", ["9001"])
        result = adapter_for(server).deliver(request())
        assert result.outcome is Outcome.DONE, result.detail
        [action] = server.account_actions
        # Even a first removal must limit the post's reach when the post itself cannot go.
        assert action["type"] == "silence" and action["report_id"] == "11"
        assert server.reports["11"]["resolved"]
        assert server.statuses["9001"]["deleted"] is False
        assert json.loads(result.receipt)["status"] == "unsupported"


def test_a_405_on_the_per_status_route_also_falls_back():
    with MockMastodon(per_status=405) as server:
        server.add_account("100")
        server.add_status("9001", "100", "<p>x</p>")
        server.add_report("11", "200", "100", ["9001"])
        adapter = adapter_for(server, strikes=parse_strike_policy("none,silence", "sensitive"))
        assert adapter.deliver(request()).outcome is Outcome.DONE
        assert server.account_actions[0]["type"] == "sensitive"


def test_remote_accounts_get_only_the_types_they_accept(mastodon):
    mastodon.add_account("300", "faraway", domain="other.test")
    mastodon.add_status("9100", "300", "<p>remote post</p>")
    mastodon.add_report("14", "200", "300", ["9100"])
    adapter = adapter_for(mastodon, strikes=StrikePolicy(("none", "disable"), "none"))
    assert adapter.deliver(request(post_id="9100", account_id="300", strikes=1)).outcome is Outcome.DONE
    assert mastodon.account_actions[-1]["type"] == "suspend"  # "disable" is local-only
    result = adapter.deliver(request("warn_account", post_id=None, account_id="300"))
    assert result.outcome is Outcome.DONE and mastodon.account_actions[-1]["type"] == "sensitive"


def test_a_retried_removal_does_not_delete_twice_or_add_a_second_strike(mastodon):
    adapter = adapter_for(mastodon)
    assert adapter.deliver(request()).outcome is Outcome.DONE
    again = adapter.deliver(request())
    assert again.outcome is Outcome.DONE
    assert len(mastodon.status_actions) == 1 and mastodon.account_actions == []
    assert json.loads(again.receipt)["status"] == "gone"


def test_a_model_flagged_post_without_reports_is_removed_without_report_id(mastodon):
    mastodon.add_status("9200", "100", "<p>never reported</p>")
    assert adapter_for(mastodon).deliver(request(post_id="9200", strikes=1)).outcome is Outcome.DONE
    assert "report_id" not in mastodon.status_actions[-1]
    assert "report_id" not in mastodon.account_actions[-1]


def test_notify_resolves_only_the_reporters_own_reports(mastodon):
    result = adapter_for(mastodon).deliver(request("notify", account_id="200"))
    assert result.outcome is Outcome.DONE
    assert mastodon.reports["11"]["resolved"] and not mastodon.reports["12"]["resolved"]
    assert mastodon.statuses["9001"]["deleted"] is False and mastodon.account_actions == []


def test_hide_and_unhide_are_acknowledged_without_a_call(mastodon):
    for kind in ("hide_post", "unhide_post"):
        assert adapter_for(mastodon).deliver(request(kind)).outcome is Outcome.DONE
    assert mastodon.log == []


def test_restore_is_a_permanent_failure_with_a_reason(mastodon):
    result = adapter_for(mastodon).deliver(request("restore_post"))
    assert result.outcome is Outcome.PERMANENT and "cannot restore" in result.detail


def test_suspend_account(mastodon):
    assert adapter_for(mastodon).deliver(request("suspend_account", post_id=None)).outcome is Outcome.DONE
    assert mastodon.account_actions[-1]["type"] == "suspend" and mastodon.accounts["100"]["suspended"]


@pytest.mark.parametrize("missing, type_", [
    ("admin:write:accounts", "suspend_account"),
    ("admin:read:reports", "remove_post"),
    ("admin:write:reports", "notify"),
])
def test_a_token_lacking_a_scope_is_a_permanent_failure_naming_it(mastodon, missing, type_):
    mastodon.tokens["limited"] = set(ALL_SCOPES) - {missing}
    result = adapter_for(mastodon, token="limited").deliver(request(type_, account_id="200" if type_ == "notify"
                                                                    else "100"))
    assert result.outcome is Outcome.PERMANENT and result.status_code == 403
    assert missing in result.detail


def test_an_unknown_token_is_permanent_and_never_echoed(mastodon):
    result = adapter_for(mastodon, token="wrong-token-123").deliver(request("suspend_account"))
    assert result.outcome is Outcome.PERMANENT and result.status_code == 401
    assert "NETWORK_TOKEN" in result.detail and "wrong-token-123" not in result.detail


def test_an_unknown_account_is_a_permanent_404(mastodon):
    result = adapter_for(mastodon).deliver(request("suspend_account", account_id="999"))
    assert result.outcome is Outcome.PERMANENT and result.status_code == 404
    assert "record not found" in result.detail


def test_a_422_is_permanent_with_the_servers_reason(mastodon):
    adapter = adapter_for(mastodon)
    with pytest.raises(MastodonError) as info:
        adapter.account_action("100", "obliterate")
    assert info.value.outcome is Outcome.PERMANENT and info.value.status_code == 422
    assert "Type is not included" in info.value.detail


def test_a_rate_limit_is_retried_after_its_reset(mastodon):
    mastodon.throttle, mastodon.reset_in = 1, 120
    result = adapter_for(mastodon).deliver(request())
    assert result.outcome is Outcome.RETRY and result.status_code == 429
    assert 100 <= result.retry_after <= 121
    assert adapter_for(mastodon).deliver(request()).outcome is Outcome.DONE


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(mastodon, status):
    mastodon.fail_next = [status]
    result = adapter_for(mastodon).deliver(request())
    assert result.outcome is Outcome.RETRY and result.status_code == status
    assert mastodon.status_actions == []


def test_an_unreachable_instance_is_retried(closed_port_url):
    result = MastodonAdapter(closed_port_url, ADMIN_TOKEN, timeout=1.0).deliver(request())
    assert result.outcome is Outcome.RETRY and result.status_code is None


@pytest.mark.parametrize("post_id", ["../accounts/1", "1?x=2", "9 1", "é"])
def test_hostile_ids_never_reach_the_url(mastodon, post_id):
    result = adapter_for(mastodon).deliver(request(post_id=post_id))
    assert result.outcome is Outcome.PERMANENT and mastodon.log == []


def test_paging_follows_the_link_header(mastodon):
    for number in range(20, 27):
        mastodon.add_report(str(number), "200", "100", ["9002"])
    client = MastodonClient(mastodon.url, ADMIN_TOKEN)
    pages = list(client.pages("/api/v1/admin/reports", scope="admin:read:reports",
                              params={"resolved": "false", "limit": 3}))
    ids = [r["id"] for page in pages for r in page]
    assert [len(page) for page in pages] == [3, 3, 3]
    assert ids == sorted(ids, key=lambda v: (len(v), v), reverse=True) and len(set(ids)) == 9


def test_a_next_link_off_the_instance_is_not_followed(mastodon):
    # The bearer token must never be sent to another host, whatever the server's Link header says.
    mastodon.forced_link = '<http://attacker.test/steal?max_id=1>; rel="next"'
    client = MastodonClient(mastodon.url, ADMIN_TOKEN)
    with pytest.raises(MastodonError, match="off the instance") as info:
        list(client.pages("/api/v1/admin/reports", scope="admin:read:reports"))
    assert info.value.outcome is Outcome.PERMANENT


def test_rate_limit_reset_formats():
    now = time.time()
    assert rate_limit_wait({"X-RateLimit-Reset": str(now + 30)}, now=now) == pytest.approx(30)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + 90))
    assert 88 <= rate_limit_wait({"X-RateLimit-Reset": iso}, now=now) <= 91
    assert rate_limit_wait({"X-RateLimit-Reset": "garbage"}, now=now) == 60
    for hostile in ("nan", "inf", "-inf", "1e999"):
        assert rate_limit_wait({"X-RateLimit-Reset": hostile}, now=now) == 60
    assert rate_limit_wait({"Retry-After": "20"}, now=now) == 20
    assert rate_limit_wait({"X-RateLimit-Reset": str(now + 10 ** 9)}, now=now) == 24 * 3600
    assert rate_limit_wait({"X-RateLimit-Reset": str(now - 100)}, now=now) == 1


def test_strike_policy_settings():
    policy = parse_strike_policy(" None , SILENCE,suspend ", "sensitive")
    assert policy.ladder == ("none", "silence", "suspend") and policy.fallback == "sensitive"
    assert policy.account_action(0, status_removed=False) == "sensitive"
    assert policy.account_action(1, status_removed=False) == "silence"
    assert policy.account_action(9, status_removed=True) == "suspend"
    with pytest.raises(AdapterConfigError, match="obliterate"):
        parse_strike_policy("none,obliterate")


@pytest.mark.parametrize("url, token", [("ftp://m.test", "t"), ("https://u:p@m.test", "t"), ("https://m.test", " ")])
def test_bad_settings_are_refused(url, token):
    with pytest.raises(AdapterConfigError):
        MastodonAdapter(url, token)


def test_hub_signature_checks():
    body = b'{"event":"report.created"}'
    good = MockMastodon.sign("s3cret", body)
    verify_hub_signature("s3cret", body, good)
    verify_hub_signature("s3cret", body, good.upper().replace("SHA256", "sha256"))
    for header in (None, "", "sha256=" + "0" * 64, good[:-1], "sha1=" + good[7:], good.replace("=", ":")):
        with pytest.raises(SignatureError):
            verify_hub_signature("s3cret", body, header)
    with pytest.raises(SignatureError):
        verify_hub_signature("s3cret", body + b" ", good)
    with pytest.raises(SignatureError):
        verify_hub_signature("", body, good)
