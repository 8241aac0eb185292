"""Coalition peer: the submission write path as a good Python team would write it.

A reference for scripts/bench-api, not part of the product. It serves one endpoint of the API,
POST /v1/milestones/{id}/submissions, doing the same work as the Swift server for it:

  * the bearer token `clc_<12-char key id>_<43-char secret>` is looked up with the SQL
    function auth_token(key_id); sha256(secret) is compared with secret_hash in constant time;
    revoked, expired, disabled-user and inactive-organization tokens answer 401; last_used_at is
    refreshed with auth_touch_token at most once a minute;
  * one transaction (READ COMMITTED) sets the caller for row-level security with the three
    transaction-local set_config calls, reads the milestone with its metric, the participation
    and the organization, checks the policy (a writing member admin or editor of a participating
    member organization), validates the value and unit (the unit must be the metric's own; the
    value a decimal, not negative for a metric that adds up; the period not in the future), and
    stores the row and its audit entry in one statement (INSERT … ON CONFLICT on the natural key);
  * 201 with the row, 200 with `Coalition-Outcome: unchanged` for a repeat of the same value,
    409 problem+json for another value on a live natural key.

Production setup, as scripts/bench-api starts it:

    DATABASE_URL=postgresql://coalition_app:…@127.0.0.1:PORT/coalition \\
        uvicorn app:app --workers 2 --loop uvloop --http httptools --no-access-log

Pool: "an asyncpg pool of 8" is read as 8 connections per worker process (PEER_POOL_SIZE,
default 8; min_size = max_size so the pool is warm), i.e. 16 connections for the 2 workers.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

POOL_SIZE = int(os.environ.get("PEER_POOL_SIZE", "8"))  # per worker process

SET_CALLER = """
SELECT set_config('coalition.user_id', $1, true), set_config('coalition.organization_id', $2, true),
       set_config('coalition.role', $3, true)
"""
MILESTONE = """
SELECT m.id, m.project_id, m.metric, mt.unit, mt.aggregation
FROM milestones m JOIN metrics mt ON mt.code = m.metric WHERE m.id = $1
"""
PARTICIPATES = "SELECT EXISTS (SELECT 1 FROM project_participants WHERE project_id = $1 AND organization_id = $2)"
ORGANIZATION = "SELECT kind FROM organizations WHERE id = $1"
SUBMISSION_COLUMNS = """
id, milestone_id, project_id, organization_id, period_start, period_end, value, unit, value_canonical, notes,
evidence_url, external_ref, status, submitted_by, reviewed_by, review_comment, verified_by, created_at, updated_at
"""
# The server's statement (Sources/CoalitionStore/Submissions.swift, submit): the insert and its
# audit entry in one statement; nothing is returned when a live row holds the natural key.
INSERT = f"""
WITH s AS (
    INSERT INTO submissions (milestone_id, project_id, organization_id, period_start, period_end, value, unit,
                             value_canonical, notes, evidence_url, external_ref, submitted_by)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    ON CONFLICT (milestone_id, organization_id, period_start, period_end)
        WHERE status IN ('submitted', 'approved', 'verified') DO NOTHING
    RETURNING *
), a AS (
    INSERT INTO audit_log (actor_user_id, actor_organization_id, action, entity, entity_id, data)
    SELECT $12, $3, 'submission.create', 'submission', s.id::text,
           jsonb_build_object('milestone_id', s.milestone_id, 'period_start', s.period_start, 'period_end', s.period_end,
                              'value', s.value::text, 'unit', s.unit)
    FROM s
)
SELECT {SUBMISSION_COLUMNS} FROM s
"""
LIVE = f"""
SELECT {SUBMISSION_COLUMNS} FROM submissions
WHERE milestone_id = $1 AND organization_id = $2 AND period_start = $3 AND period_end = $4
  AND status IN ('submitted', 'approved', 'verified')
"""

TOKEN = re.compile(r"clc_([abcdefghijkmnopqrstuvwxyz23456789]{12})_([A-Za-z0-9_-]{43})")
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class Problem(Exception):
    """An RFC 9457 answer."""

    def __init__(self, status: int, title: str, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.body = {"type": extra.pop("type", "about:blank"), "title": title, "status": status, "detail": detail, **extra}
        self.status = status


def unauthorized(detail: str = "the bearer token is not valid, expired or revoked") -> Problem:
    return Problem(401, "Unauthorized", detail)


def not_found(what: str) -> Problem:
    return Problem(404, "Not Found", f"{what} does not exist or is not visible to you")


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)


def invalid(errors: list[dict[str, str]]) -> Problem:
    return Problem(422, "Unprocessable Content", "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                   type="urn:coalition:problem:validation", errors=errors)


class SubmissionIn(BaseModel):
    period_start: date
    period_end: date
    value: str = Field(min_length=1, max_length=100)
    unit: str = Field(min_length=1, max_length=50)
    notes: str | None = Field(default=None, max_length=2000)
    evidence_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://[^/\s]+")
    external_ref: str | None = Field(default=None, max_length=200)


class SubmissionOut(BaseModel):
    id: UUID
    milestone_id: UUID
    project_id: UUID
    organization_id: UUID
    period_start: date
    period_end: date
    value: Decimal
    unit: str
    value_canonical: Decimal
    notes: str | None = None
    evidence_url: str | None = None
    external_ref: str | None = None
    status: str
    submitted_by: UUID
    reviewed_by: UUID | None = None
    review_comment: str | None = None
    verified_by: UUID | None = None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: UUID
    organization_id: UUID
    role: str
    scopes: frozenset[str]


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=POOL_SIZE, max_size=POOL_SIZE)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.exception_handler(Problem)
async def problem_handler(_: Request, problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body, status_code=problem.status, media_type="application/problem+json")


@app.exception_handler(RequestValidationError)
async def validation_handler(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = [{"field": ".".join(str(p) for p in e["loc"][1:]) or "body", "message": e["msg"]} for e in error.errors()]
    return await problem_handler(_, invalid(errors))


def pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


async def authenticate(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    if authorization is None or authorization[:7].lower() != "bearer ":
        raise Problem(401, "Unauthorized", "this endpoint needs a bearer token; log in with POST /v1/auth/login")
    match = TOKEN.fullmatch(authorization[7:].strip())
    if match is None:
        raise unauthorized()
    key_id, secret = match.groups()
    db = pool(request)
    record = await db.fetchrow("SELECT * FROM auth_token($1)", key_id)
    if record is None or not hmac.compare_digest(hashlib.sha256(secret.encode()).digest(), record["secret_hash"]):
        raise unauthorized()
    now = datetime.now(timezone.utc)
    if record["revoked_at"] is not None or (record["expires_at"] is not None and record["expires_at"] <= now):
        raise unauthorized()
    if record["user_status"] != "active":
        raise unauthorized("this user is disabled")
    if record["organization_status"] != "active":
        raise unauthorized("this user's organization is not active")
    if record["last_used_at"] is None or now - record["last_used_at"] > timedelta(minutes=1):
        await db.execute("SELECT auth_touch_token($1)", record["token_id"])
    return Caller(record["user_id"], record["organization_id"], record["role"], frozenset(record["scopes"]))


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/milestones/{milestone_id}/submissions", response_model=SubmissionOut, response_model_exclude_none=True,
          status_code=201)
async def submit(milestone_id: UUID, draft: SubmissionIn, request: Request, response: Response,
                 caller: Annotated[Caller, Depends(authenticate)]) -> SubmissionOut:
    async with pool(request).acquire() as conn, conn.transaction():
        await conn.execute(SET_CALLER, str(caller.user_id), str(caller.organization_id), caller.role)
        milestone = await conn.fetchrow(MILESTONE, milestone_id)
        if milestone is None:
            raise not_found("the milestone")
        participates = await conn.fetchval(PARTICIPATES, milestone["project_id"], caller.organization_id)
        kind = await conn.fetchval(ORGANIZATION, caller.organization_id)
        if kind is None:
            raise not_found("your organization")
        if not (participates or caller.role in ("coalition_admin", "auditor")):
            raise not_found("the milestone")
        if "write" not in caller.scopes:
            raise forbidden("this token has the read scope only")
        if kind != "member":
            raise forbidden("only member organizations report progress")
        if not participates:
            raise forbidden("only organizations taking part in the project submit progress")
        if caller.role not in ("member_admin", "member_editor"):
            raise forbidden("only member admins and editors submit progress")

        errors: list[dict[str, str]] = []
        today = date.today()
        if draft.period_start > draft.period_end:
            errors.append({"field": "period_end", "message": "must not be before period_start"})
        if draft.period_end > today:
            errors.append({"field": "period_end", "message": f"must not be in the future (today is {today})"})
        value: Decimal | None = None
        try:
            value = Decimal(draft.value) if DECIMAL.fullmatch(draft.value) else None
        except InvalidOperation:
            pass
        if value is None:
            errors.append({"field": "value", "message": 'must be a decimal number such as "12.5"'})
        elif value < 0 and milestone["aggregation"] == "sum":
            errors.append({"field": "value", "message": "must not be negative for a metric that adds up"})
        if draft.unit != milestone["unit"]:
            errors.append({"field": "unit", "message": f"must be {milestone['unit']}, the unit of this metric"})
        if errors:
            raise invalid(errors)

        row = await conn.fetchrow(INSERT, milestone_id, milestone["project_id"], caller.organization_id,
                                  draft.period_start, draft.period_end, value, draft.unit, value, draft.notes,
                                  draft.evidence_url, draft.external_ref, caller.user_id)
        if row is not None:
            response.headers["Location"] = f"/v1/submissions/{row['id']}"
            return SubmissionOut.model_validate(dict(row))
        live = await conn.fetchrow(LIVE, milestone_id, caller.organization_id, draft.period_start, draft.period_end)
        if live is None:  # the live row left between the two statements: the client may retry
            raise Problem(503, "Service Unavailable", "the submission raced another change; try again")
        if live["value_canonical"] == value:
            response.status_code = 200
            response.headers["Coalition-Outcome"] = "unchanged"
            return SubmissionOut.model_validate(dict(live))
        existing = str(live["id"])
        raise Problem(409, "Conflict",
                      f"a live submission {existing} holds another value for this milestone, organization and period; "
                      "withdraw it, or ask for its rejection, then submit again",
                      type="urn:coalition:problem:conflict",
                      errors=[{"field": "value", "message": f"differs from submission {existing}"}],
                      instance=f"/v1/submissions/{existing}")
