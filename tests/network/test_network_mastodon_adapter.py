"""The Mastodon adapter against a local server that speaks the admin API over real HTTP."""
from __future__ import annotations

import json
import time

import pytest
from mastodon_mock import ADMIN_TOKEN, ALL_SCOPES, MockMastodon

from network import ActionRequest, AdapterConfigError, NetworkAdapter, Outcome
from network.mastodon import MastodonAdapter, make_mastodon_adapter, verify_hub_signature
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


def request(type_="remove_post", post_id="9001", account_id="100", **extra) -> ActionRequest:
    return ActionRequest(action_id=f"act-{type_}", type=type_, post_id=post_id, account_id=account_id,
                         case_id="7", rule="harassment", statement_of_reasons=STATEMENT, **extra)


def test_it_is_a_network_adapter(mastodon):
    assert isinstance(adapter_for(mastodon), NetworkAdapter)


def test_a_removal_records_a_strike_with_the_report_and_leaves_the_status_to_the_moderators(mastodon):
    result = adapter_for(mastodon).deliver(request(appeal_url="https://jury.test/appeal/x"))
    assert result.outcome is Outcome.DONE, result.detail
    [strike] = mastodon.account_actions
    assert strike["type"] == "none" and strike["report_id"] in ("11", "12")
    assert strike["text"].startswith(STATEMENT) and "deleted by this server's moderators" in strike["text"]
    assert strike["text"].endswith("Appeal: https://jury.test/appeal/x")
    assert mastodon.reports["11"]["resolved"] and mastodon.reports["12"]["resolved"]
    # Mastodon has no admin action on one status: the adapter never tries the route.
    assert mastodon.calls(prefix="/api/v1/admin/statuses") == [] and not mastodon.statuses["9001"]["deleted"]
    assert "left for the instance's moderators" in result.detail
    assert json.loads(result.receipt)["status"] == "left to moderators"


def test_the_statuses_route_does_not_exist_on_the_stand_in(mastodon):
    client = MastodonClient(mastodon.url, ADMIN_TOKEN)
    with pytest.raises(MastodonError) as info:
        client.call("POST", "/api/v1/admin/statuses/9001/action", scope="admin:write:accounts", data={"type": "delete"})
    assert info.value.status_code == 404 and info.value.route_missing and not info.value.record_missing


def test_a_remote_authors_reports_are_resolved_without_a_strike(mastodon):
    mastodon.add_account("300", "faraway", domain="other.test")
    mastodon.add_status("9100", "300", "<p>remote post</p>")
    mastodon.add_report("14", "200", "300", ["9100"])
    result = adapter_for(mastodon).deliver(request(post_id="9100", account_id="300"))
    assert result.outcome is Outcome.DONE and mastodon.account_actions == []
    assert mastodon.reports["14"]["resolved"]
    warned = adapter_for(mastodon).deliver(request("warn_account", post_id=None, account_id="300"))
    assert warned.outcome is Outcome.DONE and "remote" in warned.detail and mastodon.account_actions == []


def test_a_retried_removal_links_the_same_report(mastodon):
    adapter = adapter_for(mastodon)
    assert adapter.deliver(request()).outcome is Outcome.DONE
    first = mastodon.account_actions[0]["report_id"]
    # The reply was lost: the retry finds the reports resolved and strikes with the same one.
    assert adapter.deliver(request()).outcome is Outcome.DONE
    assert [a["report_id"] for a in mastodon.account_actions] == [first, first]


def test_a_model_flagged_post_without_reports_is_a_strike_without_report_id(mastodon):
    mastodon.add_status("9200", "100", "<p>never reported</p>")
    assert adapter_for(mastodon).deliver(request(post_id="9200")).outcome is Outcome.DONE
    assert "report_id" not in mastodon.account_actions[-1] and mastodon.account_actions[-1]["type"] == "none"


def test_warn_account_is_an_account_action_none_with_the_statement(mastodon):
    result = adapter_for(mastodon).deliver(request("warn_account", post_id=None, strike_count=1, verdict_ids=("5",)))
    assert result.outcome is Outcome.DONE
    [warning] = mastodon.account_actions
    assert warning["type"] == "none" and "report_id" not in warning and warning["text"] == STATEMENT


@pytest.mark.parametrize(("days", "temporary", "expected", "flag"), [
    (None, "silence", "suspend", "suspended"),
    (7, "silence", "silence", "silenced"),
    (7, "suspend", "suspend", "suspended"),
])
def test_suspend_account_by_its_duration(mastodon, days, temporary, expected, flag):
    adapter = adapter_for(mastodon, temporary_suspension=temporary)
    result = adapter.deliver(request("suspend_account", post_id=None, duration_days=days, strike_count=3))
    assert result.outcome is Outcome.DONE, result.detail
    assert [a["type"] for a in mastodon.account_actions] == [expected] and mastodon.accounts["100"][flag]
    # Sent again (a lost reply, a second measure): the account is already under it, no second strike.
    assert adapter.deliver(request("suspend_account", post_id=None, duration_days=days)).outcome is Outcome.DONE
    assert len(mastodon.account_actions) == 1


def test_unsuspend_lifts_whatever_the_account_is_under_and_is_idempotent(mastodon):
    adapter = adapter_for(mastodon)
    adapter.deliver(request("suspend_account", post_id=None, duration_days=7))
    adapter.deliver(request("suspend_account", post_id=None))
    assert mastodon.accounts["100"]["silenced"] and mastodon.accounts["100"]["suspended"]
    result = adapter.deliver(request("unsuspend_account", post_id=None))
    assert result.outcome is Outcome.DONE and sorted(mastodon.lifted) == [("100", "unsilence"), ("100", "unsuspend")]
    assert not mastodon.accounts["100"]["silenced"] and not mastodon.accounts["100"]["suspended"]
    again = adapter.deliver(request("unsuspend_account", post_id=None))
    assert again.outcome is Outcome.DONE and "nothing to lift" in again.detail and len(mastodon.lifted) == 2


@pytest.mark.parametrize("type_", ["warn_account", "suspend_account", "unsuspend_account", "remove_post"])
def test_an_account_the_instance_does_not_know_is_a_permanent_failure_naming_it(mastodon, type_):
    result = adapter_for(mastodon).deliver(request(type_, account_id="999"))
    assert result.outcome is Outcome.PERMANENT and result.status_code == 404
    assert "account 999" in result.detail and "no such account" in result.detail


def test_an_account_action_the_instance_refuses_is_a_permanent_failure_naming_it(mastodon):
    mastodon.add_account("300", "faraway", domain="other.test")
    with pytest.raises(MastodonError) as info:
        adapter_for(mastodon).account_action("300", "none")
    assert info.value.outcome is Outcome.PERMANENT and info.value.status_code == 422
    assert "account 300: action none: the instance refused it" in info.value.detail


def test_a_removal_whose_report_vanished_meanwhile_is_a_permanent_failure(mastodon):
    adapter = adapter_for(mastodon)
    mastodon.reports["11"]["resolved"] = mastodon.reports["12"]["resolved"] = True
    real = adapter.reports_about
    adapter.reports_about = lambda *a, **k: [{"id": "77"}] if k.get("resolved") else real(*a, **k)
    result = adapter.deliver(request())
    assert result.outcome is Outcome.PERMANENT and "no such account or report" in result.detail


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
    assert mastodon.account_actions == []


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


def test_the_temporary_suspension_setting():
    assert make_mastodon_adapter("https://m.test", "t").temporary_suspension == "silence"
    options = {"MASTODON_TEMPORARY_SUSPENSION": " Suspend "}
    assert make_mastodon_adapter("https://m.test", "t", options).temporary_suspension == "suspend"
    with pytest.raises(AdapterConfigError, match="MASTODON_TEMPORARY_SUSPENSION"):
        make_mastodon_adapter("https://m.test", "t", {"MASTODON_TEMPORARY_SUSPENSION": "disable"})


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
