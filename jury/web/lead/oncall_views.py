"""The critical lane for leads: the on-call page, and a critical case's referral packet."""
from __future__ import annotations

from flask import Response, abort, render_template
from flask_login import current_user

from jury.leads import oncall, referral
from jury.web.forms import ReferralForm
from jury.web.lead.lead_blueprint import bp


@bp.get("/oncall")
def oncall_page():
    """Open credible threats to life by deadline, and the last day's decided ones; refreshes itself."""
    return render_template("lead/oncall.html", board=oncall.board(), form=ReferralForm())


@bp.get("/oncall/fragment")
def oncall_fragment():
    """The on-call figures alone, polled by static/lead-health.js."""
    return render_template("lead/_oncall.html", board=oncall.board(), form=ReferralForm())


@bp.post("/cases/<int:case_id>/referral")
def referral_packet(case_id: int):
    """The case's referral packet (DSA Art. 18) as a JSON download; 409 for a case outside the lane."""
    if not ReferralForm().validate_on_submit():
        abort(400)
    content, filename = referral.packet(case_id, current_user, actor=f"user:{current_user.id}")
    return Response(content, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
