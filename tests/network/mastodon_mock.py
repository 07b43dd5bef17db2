"""A small Mastodon admin API over real HTTP, for the Mastodon adapter's tests.

It speaks the documented protocol: bearer tokens with scopes (401 unknown token, 403 missing
scope), Link-header paging newest first (max_id / since_id / min_id), 404 "Record not found",
422 "Record invalid", 429 with X-RateLimit-Reset, the account actions with their unsuspend and
unsilence, and no admin action on one status: ``config/routes/api.rb`` has no admin statuses
resource, so ``/api/v1/admin/statuses/:id/action`` is an unknown route (404 ``{"error":"Not Found"}``
for JSON, an HTML page otherwise, as Rails' catch-all answers).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

ADMIN_TOKEN = "mastodon-admin-token-5e1f"
ALL_SCOPES = frozenset({"admin:read:reports", "admin:write:reports", "admin:read:accounts",
                        "admin:write:accounts"})
ACCOUNT_TYPES = ("none", "sensitive", "disable", "silence", "suspend")
REMOTE_TYPES = ("sensitive", "silence", "suspend")


def _key(value) -> tuple[int, str]:
    return (len(str(value)), str(value))


class MockMastodon:
    """State of the fake instance plus the server that exposes it."""

    def __init__(self):
        self.tokens: dict[str, set[str]] = {ADMIN_TOKEN: set(ALL_SCOPES)}
        self.accounts: dict[str, dict] = {}
        self.statuses: dict[str, dict] = {}
        self.reports: dict[str, dict] = {}
        self.account_actions: list[dict] = []
        self.lifted: list[tuple[str, str]] = []  # (account id, unsuspend | unsilence)
        self.resolved: list[str] = []
        self.log: list[tuple[str, str]] = []
        self.throttle = 0  # the next N requests answer 429
        self.reset_in = 30.0
        self.fail_next: list[int] = []  # statuses to answer the next requests with
        self.forced_link: str | None = None  # a Link header to send instead of the real one (hostile server)
        self.lock = threading.Lock()
        self.app = self._build()
        self.url = ""

    # -- data

    def add_account(self, account_id: str, username: str | None = None, domain: str | None = None,
                    display_name: str = "") -> dict:
        account = {"id": account_id, "username": username or f"user{account_id}", "domain": domain,
                   "display_name": display_name,
                   "silenced": False, "suspended": False, "sensitized": False, "disabled": False}
        self.accounts[account_id] = account
        return account

    def add_status(self, status_id: str, account_id: str, content: str, **extra) -> dict:
        status = {"id": status_id, "account_id": account_id, "content": content, "language": "en",
                  "url": f"https://mastodon.test/@user/{status_id}", "created_at": "2026-11-20T10:00:00.000Z",
                  "spoiler_text": "", "media_attachments": [], "deleted": False, "sensitive": False, **extra}
        self.statuses[status_id] = status
        return status

    def add_report(self, report_id: str, reporter: str, target: str, status_ids=(), category: str = "violation",
                   rules=(), comment: str = "") -> dict:
        for account_id in (reporter, target):
            self.accounts.get(account_id) or self.add_account(account_id)
        report = {"id": report_id, "reporter": reporter, "target": target, "status_ids": list(status_ids),
                  "category": category, "rules": list(rules), "comment": comment, "resolved": False,
                  "created_at": "2026-11-20T11:00:00.000Z"}
        self.reports[report_id] = report
        return report

    def report_json(self, report: dict) -> dict:
        """The report as the API shows it (an Admin::Report)."""
        return {
            "id": report["id"], "action_taken": report["resolved"], "action_taken_at": None,
            "category": report["category"], "comment": report["comment"], "forwarded": False,
            "created_at": report["created_at"], "updated_at": report["created_at"],
            "account": self.admin_account(report["reporter"]), "target_account": self.admin_account(report["target"]),
            "assigned_account": None, "action_taken_by_account": None,
            "statuses": [self.status_json(self.statuses[s]) for s in report["status_ids"] if s in self.statuses],
            "rules": report["rules"],
        }

    def public_account(self, account_id: str) -> dict:
        """The public Account entity (what a status carries, and an Admin::Account's ``account``)."""
        account = self.accounts[account_id]
        return {"id": account_id, "username": account["username"], "display_name": account["display_name"],
                "acct": account["username"] + (f"@{account['domain']}" if account["domain"] else "")}

    def status_json(self, status: dict) -> dict:
        return {key: value for key, value in status.items() if key not in ("deleted", "account_id")} | {
            "account": self.public_account(status["account_id"])}

    def admin_account(self, account_id: str) -> dict:
        account = self.accounts[account_id]
        return {"id": account_id, "username": account["username"], "domain": account["domain"],
                "email": f"{account['username']}@mail.test", "silenced": account["silenced"],
                "suspended": account["suspended"], "disabled": account["disabled"],
                "sensitized": account["sensitized"], "account": self.public_account(account_id)}

    def webhook_body(self, report_id: str, event: str = "report.created") -> bytes:
        """The body Mastodon would POST for an event about this report."""
        return json.dumps({"event": event, "created_at": "2026-11-20T11:00:01.000Z",
                           "object": self.report_json(self.reports[report_id])}).encode()

    @staticmethod
    def sign(secret: str, body: bytes) -> str:
        """The X-Hub-Signature Mastodon would send."""
        return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    def calls(self, method: str | None = None, prefix: str = "") -> list[str]:
        """Paths of requests received (optionally one method, under a prefix)."""
        return [path for m, path in self.log if (method is None or m == method) and path.startswith(prefix)]

    # -- the HTTP side

    def _build(self) -> Flask:
        app = Flask("mock_mastodon")
        mock = self

        def error(status: int, message: str):
            return jsonify({"error": message}), status

        @app.before_request
        def gate():
            with mock.lock:
                mock.log.append((request.method, request.full_path.rstrip("?")))
                if mock.fail_next:
                    return error(mock.fail_next.pop(0), "Injected failure")
                if mock.throttle > 0:
                    mock.throttle -= 1
                    reset = datetime.now(UTC) + timedelta(seconds=mock.reset_in)
                    response = jsonify({"error": "Too many requests"})
                    response.status_code = 429
                    response.headers["X-RateLimit-Limit"] = "300"
                    response.headers["X-RateLimit-Remaining"] = "0"
                    response.headers["X-RateLimit-Reset"] = reset.isoformat(timespec="milliseconds").replace(
                        "+00:00", "Z")
                    return response
            auth = request.headers.get("Authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
            if token not in mock.tokens:
                return error(401, "The access token is invalid")
            request.environ["mock.scopes"] = mock.tokens[token]
            return None

        def need(scope: str):
            return None if scope in request.environ["mock.scopes"] else error(
                403, "This action is outside the authorized scopes")

        @app.get("/api/v1/admin/reports")
        def list_reports():
            if (refused := need("admin:read:reports")) is not None:
                return refused
            args = request.args
            resolved = args.get("resolved", "false").lower() in ("true", "1")
            rows = [r for r in mock.reports.values() if r["resolved"] == resolved
                    and (not args.get("account_id") or r["reporter"] == args["account_id"])
                    and (not args.get("target_account_id") or r["target"] == args["target_account_id"])]
            rows.sort(key=lambda r: _key(r["id"]), reverse=True)
            if args.get("max_id"):
                rows = [r for r in rows if _key(r["id"]) < _key(args["max_id"])]
            if args.get("since_id"):
                rows = [r for r in rows if _key(r["id"]) > _key(args["since_id"])]
            limit = min(int(args.get("limit", 100)), 200)
            page = rows[:limit]
            response = jsonify([mock.report_json(r) for r in page])
            if len(rows) > limit:
                query = {k: v for k, v in args.items() if k not in ("max_id", "min_id")}
                query["max_id"] = page[-1]["id"]
                response.headers["Link"] = f'<{request.base_url}?{urlencode(query)}>; rel="next"'
            if mock.forced_link:
                response.headers["Link"] = mock.forced_link
            return response

        @app.get("/api/v1/admin/reports/<report_id>")
        def show_report(report_id):
            if (refused := need("admin:read:reports")) is not None:
                return refused
            report = mock.reports.get(report_id)
            return jsonify(mock.report_json(report)) if report else error(404, "Record not found")

        @app.post("/api/v1/admin/reports/<report_id>/resolve")
        def resolve(report_id):
            if (refused := need("admin:write:reports")) is not None:
                return refused
            report = mock.reports.get(report_id)
            if report is None:
                return error(404, "Record not found")
            report["resolved"] = True
            mock.resolved.append(report_id)
            return jsonify(mock.report_json(report))

        @app.get("/api/v1/admin/accounts/<account_id>")
        def show_account(account_id):
            if (refused := need("admin:read:accounts")) is not None:
                return refused
            return jsonify(mock.admin_account(account_id)) if account_id in mock.accounts else error(
                404, "Record not found")

        @app.post("/api/v1/admin/accounts/<account_id>/action")
        def account_action(account_id):
            if (refused := need("admin:write:accounts")) is not None:
                return refused
            account = mock.accounts.get(account_id)
            if account is None:
                return error(404, "Record not found")
            kind = request.form.get("type")
            if kind not in ACCOUNT_TYPES or (account["domain"] and kind not in REMOTE_TYPES):
                return error(422, "Validation failed: Type is not included in the list")
            report_id = request.form.get("report_id")
            if report_id and report_id not in mock.reports:
                return error(404, "Record not found")
            mock.account_actions.append({"account_id": account_id, **request.form.to_dict()})
            if kind == "none" and report_id:
                mock.reports[report_id]["resolved"] = True
            elif kind != "none":
                for report in mock.reports.values():
                    if report["target"] == account_id:
                        report["resolved"] = True
                flag = {"sensitive": "sensitized", "disable": "disabled", "silence": "silenced",
                        "suspend": "suspended"}[kind]
                account[flag] = True
            return jsonify({})

        def lift(account_id, flag, name):
            if (refused := need("admin:write:accounts")) is not None:
                return refused
            account = mock.accounts.get(account_id)
            if account is None:
                return error(404, "Record not found")
            if name == "unsuspend" and not account["suspended"]:
                # Mastodon's policy lets only a suspension made on this server be lifted.
                return error(403, "This action is not allowed")
            account[flag] = False
            mock.lifted.append((account_id, name))
            return jsonify(mock.admin_account(account_id))

        app.add_url_rule("/api/v1/admin/accounts/<account_id>/unsuspend", "unsuspend", methods=["POST"],
                         view_func=lambda account_id: lift(account_id, "suspended", "unsuspend"))
        app.add_url_rule("/api/v1/admin/accounts/<account_id>/unsilence", "unsilence", methods=["POST"],
                         view_func=lambda account_id: lift(account_id, "silenced", "unsilence"))

        @app.errorhandler(404)
        def unknown_route(_error):
            # Rails' catch-all (application#raise_not_found): JSON when asked for, else a page.
            if "application/json" in request.headers.get("Accept", ""):
                return jsonify({"error": "Not Found"}), 404
            return "<html><body>The page you were looking for doesn't exist.</body></html>", 404

        return app

    def __enter__(self) -> MockMastodon:  # noqa: PYI034 - a plain class, not meant for subclassing
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
