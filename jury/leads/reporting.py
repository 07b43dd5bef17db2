"""What the audit reports take from the app's settings (the web console and the CLI both call this)."""
from __future__ import annotations

from flask import current_app


def report_options() -> dict:
    """The scorer's name and the pseudonym key the reports use."""
    return {"scorer": current_app.config["SCORER"], "pseudonym_key": current_app.config["SECRET_KEY"]}
