"""Who may open a page: the one lead-only rule every lead blueprint shares."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def lead_required(view):
    """Only leads and admins; anonymous visitors go to the login page, jurors get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_lead:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
