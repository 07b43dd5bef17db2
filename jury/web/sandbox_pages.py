"""Pages and webhook endpoint of the built-in sandbox network."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, session, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from jury.demo import sandbox_network
from jury.extensions import csrf
from jury.web.forms import SandboxAccountForm, SandboxReportForm
from jury.web.signed import MAX_JSON_DEPTH, BadJson, load_json, read_body, verify_request
from models.errors import DomainError
from network.signing import SCHEME, SCHEME_V2, SignatureError

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
WEBHOOK_MAX_BYTES = 256 * 1024
# The sandbox account this browser acts as: a network shows a removal's appeal link to its author only.
ACCOUNT_KEY = "sandbox_account"


@bp.get("/")
def index():
    """The sandbox network's timeline: each post with what the network shows of it."""
    posts, actions = sandbox_network.recent()
    viewer = session.get(ACCOUNT_KEY)
    chooser = SandboxAccountForm(formdata=None, account=viewer or "")
    chooser.account.choices = [("", "a visitor")] + [(name, name) for name in sandbox_network.accounts()]
    return render_template("sandbox/index.html", posts=posts, actions=actions, form=SandboxReportForm(),
                           chooser=chooser, viewer=viewer, account_states=sandbox_network.account_states())


@bp.post("/as")
def browse_as():
    """Act as one of the sandbox's accounts (or a visitor) in this browser."""
    form = SandboxAccountForm()
    if not form.validate_on_submit():
        abort(400)
    account = form.account.data or None
    if account is not None and account not in sandbox_network.accounts():
        abort(400, "no such account on the sandbox network")
    session[ACCOUNT_KEY] = account
    return redirect(url_for("sandbox.index"))


@bp.post("/posts/<external_id>/report")
def report(external_id: str):
    """A sandbox user reports a post; the sandbox forwards it to Jury."""
    form = SandboxReportForm()
    if not form.validate_on_submit():
        abort(400)
    reporter = session.get(ACCOUNT_KEY) or "sandbox-visitor"
    sandbox_network.report_post(external_id, form.reason.data, reporter_id=reporter)
    flash("Reported to Jury.", "info")
    return redirect(url_for("sandbox.index"))


@bp.post("/moderation/actions")
@csrf.exempt
def receive_action():
    """Jury's webhook contract: signed JSON; 200 applied, 409 already applied, 4xx refused."""
    try:
        raw = read_body(WEBHOOK_MAX_BYTES)
        # v1 for networks' older signers; v2 bound to this method and path.
        verify_request(current_app.config["NETWORK_WEBHOOK_SECRET"], raw, (SCHEME, SCHEME_V2))
        # The payload is stored as JSON: a deep one would recurse out when it is written.
        status, row = sandbox_network.receive_action(load_json(raw, MAX_JSON_DEPTH))
    except RequestEntityTooLarge:
        return jsonify({"error": f"request body over {WEBHOOK_MAX_BYTES} bytes"}), 413
    except SignatureError as error:
        return jsonify({"error": f"bad signature: {error}"}), 401
    except BadJson as error:
        return jsonify({"error": str(error)}), 400
    except DomainError as error:
        return jsonify({"error": str(error)}), error.status_code
    if status == "duplicate":
        return jsonify({"status": "already applied", "id": row.id}), 409
    return jsonify({"status": "applied", "id": row.id}), 200


@bp.get("/accounts/<account_id>/relationships")
def relationships(account_id: str):
    """Follow links of an account, for Jury's fair panels; v2-signed over GET and this path only
    (a v1 signature covers a body alone, which would let one made here pass as an action)."""
    try:
        verify_request(current_app.config["NETWORK_WEBHOOK_SECRET"], b"", (SCHEME_V2,))
    except SignatureError as error:
        return jsonify({"error": f"bad signature: {error}"}), 401
    return jsonify({"accounts": sandbox_network.follow_links(account_id)})
