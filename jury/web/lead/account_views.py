"""The lead's pages on network accounts: one account's record and history, and the search for one."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from jury.leads import accounts
from jury.web.lead.lead_blueprint import bp


@bp.get("/accounts")
def account_search():
    """Accounts by id or handle; an exact id goes straight to its page."""
    result = accounts.search(request.args.get("q", ""))
    if result.exact is not None:
        return redirect(url_for("lead.account", external_id=result.exact))
    return render_template("lead/account_search.html", result=result)


@bp.get("/accounts/<path:external_id>")
def account(external_id: str):
    """One account: its state, strikes, record as a reporter and history in time order (404 if unknown)."""
    return render_template("lead/account.html", page=accounts.account_page(external_id))
