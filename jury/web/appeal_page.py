"""/appeal/<token>: the author's page behind the signed link in a statement of reasons."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from jury.appeals import review as appeals
from jury.web.forms import AppealForm
from triage.appeal_links import read_token

bp = Blueprint("appeal", __name__)


@bp.route("/appeal/<token>", methods=["GET", "POST"])
def appeal_page(token: str):
    """The author reads the decision and writes a statement; each link files one appeal."""
    item = appeals.usable(read_token(token))
    form = AppealForm()
    if form.validate_on_submit():
        appeal = appeals.file_appeal(item.verdict.id, item.post.author_id, form.statement.data,
                                     channel="link", actor="appellant:link")
        return render_template("appeal/received.html", appeal=appeal, item=item), 201
    return render_template("appeal/appeal.html", item=item, form=form), 400 if request.method == "POST" else 200
