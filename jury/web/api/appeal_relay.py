"""POST /api/v1/appeals: the network relays an author's appeal, signed like intake."""
from __future__ import annotations

from jury.appeals import review as appeals
from jury.web.api.api_blueprint import bp, error
from jury.web.api.body import signed_json
from models.errors import DomainError
from triage.schemas import AppealIn


@bp.post("/appeals")
def appeal():
    """File the relayed appeal; 201 with the appeal's id, its state and its case."""
    body, failure = signed_json(AppealIn)
    if failure:
        return failure
    try:
        filed = appeals.relay_appeal(body.post_id, body.appellant_id, body.statement)
    except DomainError as problem:
        return error(problem.status_code, str(problem))
    return {"appeal_id": filed.id, "state": filed.state, "case_id": filed.appeal_case_id}, 201
