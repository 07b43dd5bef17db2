"""The signed intake API (posts and reports) and its OpenAPI document."""
from __future__ import annotations

from flask import jsonify

from jury.web.api.api_blueprint import bp, error
from jury.web.api.body import signed_json
from jury.web.openapi import openapi_document
from triage import intake
from triage.schemas import IntakeError, PostBatch, ReportBatch


@bp.post("/posts")
def posts():
    """Receive a batch of posts."""
    batch, failure = signed_json(PostBatch)
    if failure:
        return failure
    return jsonify(intake.ingest_posts(batch.posts).as_dict()), 202


@bp.post("/reports")
def reports():
    """Receive a batch of reports (each may carry its post)."""
    batch, failure = signed_json(ReportBatch)
    if failure:
        return failure
    try:
        counts = intake.ingest_reports(batch.reports)
    except IntakeError as problem:
        return error(400, problem.message, problem.field)
    return jsonify(counts.as_dict()), 202


@bp.get("/openapi.json")
def openapi():
    """The API's OpenAPI 3.1 description."""
    return jsonify(openapi_document())
