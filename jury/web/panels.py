"""The lead's panel pages: why a juror may not sit on a case, the gold set, the jurors' gold records."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from jury.jurors import eligibility as panels
from jury.web.access import lead_required
from jury.web.forms import PromoteGoldForm, RetireGoldForm
from triage import gold

bp = Blueprint("panels", __name__, url_prefix="/lead/panels")



@bp.get("/")
@lead_required
def index():
    """The gold set and every juror's state and gold record."""
    return render_template("lead/panels.html", gold_cases=gold.gold_cases(), jurors=panels.juror_records(),
                           decided=panels.recently_decided())


@bp.get("/cases/<int:case_id>")
@lead_required
def case(case_id: int):
    """Each juror's eligibility for one case, with every reason they are excluded."""
    panel = panels.case_panel(case_id, request.args.get("username") or None)
    return render_template("lead/case_panel.html", panel=panel, promote_form=PromoteGoldForm(),
                           retire_form=RetireGoldForm())


@bp.post("/cases/<int:case_id>/promote")
@lead_required
def promote(case_id: int):
    """Add a decided case to the gold set."""
    if not PromoteGoldForm().validate_on_submit():
        abort(400)
    gold_case = gold.promote(case_id, current_user)
    flash(f"Case {case_id} joined the gold set as case {gold_case.id}.", "info")
    return redirect(url_for("panels.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/retire")
@lead_required
def retire(case_id: int):
    """Stop dealing a gold case."""
    if not RetireGoldForm().validate_on_submit():
        abort(400)
    gold.retire(case_id, current_user)
    flash(f"Gold case {case_id} retired: it is no longer dealt.", "info")
    return redirect(url_for("panels.case", case_id=case_id))
