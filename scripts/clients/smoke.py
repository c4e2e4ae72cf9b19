"""Smoke test of a Python client generated from the served OpenAPI document with
openapi-python-client, run by scripts/clients/check.sh against a real api-fn: create a job, list
jobs, trigger it, read the execution, each through the generated client's typed method for its
operation id (so a renamed operation or a changed field breaks it). Exits non-zero on any
mismatch. Environment: PRIKKE_BASE_URL, PRIKKE_API_KEY."""

import os
import sys
import uuid

from prikke_client import AuthenticatedClient
from prikke_client.api.executions import get_execution, trigger_job
from prikke_client.api.jobs import create_job, get_job, list_jobs
from prikke_client.models import (
    CronScheduleInput,
    CronScheduleInputKind,
    ExecutionDetail,
    ExecutionStatus,
    ExecutionView,
    JobInput,
    JobPage,
    JobView,
    Method,
    Problem,
    Retry,
    Source,
)


def check(ok: bool, what: str, got: object = None) -> None:
    if not ok:
        print(f"python smoke: {what}; got {got!r}", file=sys.stderr)
        sys.exit(1)


client = AuthenticatedClient(base_url=os.environ["PRIKKE_BASE_URL"], token=os.environ["PRIKKE_API_KEY"], raise_on_unexpected_status=True)

with client as c:
    body = JobInput(
        name="Python smoke",
        url="https://example.com/hooks/python",
        method=Method.POST,
        body='{"from":"python"}',
        retry=Retry(max_attempts=2),
        schedule=CronScheduleInput(kind=CronScheduleInputKind.CRON, expr="0 3 * * *", timezone="Europe/Oslo"),
    )
    created = create_job.sync_detailed(client=c, body=body)
    check(created.status_code == 201, "create job: status", created.status_code)
    job = created.parsed
    check(isinstance(job, JobView), "create job: body", job)
    assert isinstance(job, JobView)
    check(isinstance(job.id, uuid.UUID), "create job: id", job.id)
    check(job.name == "Python smoke" and job.method == Method.POST and job.enabled is True, "create job: fields", job)
    check(job.retry.max_attempts == 2, "create job: retry", job.retry)
    check(created.headers.get("location") == f"/api/v1/jobs/{job.id}", "create job: Location", created.headers.get("location"))

    page = list_jobs.sync(client=c, limit=100)
    check(isinstance(page, JobPage), "list jobs: body", page)
    assert isinstance(page, JobPage)
    check(any(j.id == job.id and j.url == "https://example.com/hooks/python" for j in page.data), "list jobs: the new job is missing", [j.id for j in page.data])
    check(page.next_cursor is None, "list jobs: next_cursor", page.next_cursor)

    triggered = trigger_job.sync_detailed(id=job.id, client=c)
    check(triggered.status_code == 202, "trigger job: status", triggered.status_code)
    run = triggered.parsed
    check(isinstance(run, ExecutionView), "trigger job: body", run)
    assert isinstance(run, ExecutionView)
    check(run.job_id == job.id and run.source == Source.MANUAL and run.status == ExecutionStatus.PENDING, "trigger job: execution", run)
    check(run.max_attempts == 2 and run.request.url == job.url and run.message_id.startswith("msg_"), "trigger job: request", run.request)

    detail = get_execution.sync(id=run.id, client=c)
    check(isinstance(detail, ExecutionDetail), "get execution: body", detail)
    assert isinstance(detail, ExecutionDetail)
    check(detail.id == run.id and detail.job_id == job.id and detail.message_id == run.message_id, "get execution: ids", detail)
    check(detail.attempts == [], "get execution: attempts", detail.attempts)

    missing = get_job.sync(id=uuid.UUID("00000000-0000-7000-8000-000000000000"), client=c)
    check(isinstance(missing, Problem) and missing.type_ == "https://prikke.eu/problems/not-found" and missing.status == 404, "get missing job: problem", missing)

print(f"python smoke: job {job.id} created, listed, triggered; execution {run.id} read back")
