"""The lead console's one blueprint; every view on it is for leads and admins only."""
from __future__ import annotations

from flask import Blueprint, abort, current_app
from flask_login import current_user

bp = Blueprint("lead", __name__, url_prefix="/lead")


@bp.before_request
def _leads_only():
    """The one rule of the console: anonymous visitors go to the login page, jurors get 403."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_lead:
        abort(403)
    return None
