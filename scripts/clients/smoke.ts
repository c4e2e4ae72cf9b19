// Smoke test of a TypeScript client generated from the served OpenAPI document
// (openapi-typescript types + openapi-fetch), run by scripts/clients/check.sh against a real
// api-fn: create a job, list jobs, trigger it, read the execution. Type-checked strictly first,
// so a renamed field, path or operation id fails to compile; then every answer is checked.
// Environment: PRIKKE_BASE_URL, PRIKKE_API_KEY.
import createClient from "openapi-fetch";
import type { components, operations, paths } from "./prikke.js";

type Job = components["schemas"]["JobView"];
type Execution = components["schemas"]["ExecutionView"];
// tied to the operation ids generators name their methods after
type Triggered = operations["triggerJob"]["responses"][202]["content"]["application/json"];
type Detail = operations["getExecution"]["responses"][200]["content"]["application/json"];

const base = process.env.PRIKKE_BASE_URL;
const key = process.env.PRIKKE_API_KEY;
if (!base || !key) throw new Error("set PRIKKE_BASE_URL and PRIKKE_API_KEY");

const client = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${key}` } });

function fail(what: string, got?: unknown): never {
  console.error(`typescript smoke: ${what}${got === undefined ? "" : `; got ${JSON.stringify(got)}`}`);
  process.exit(1);
}

function check(ok: boolean, what: string, got?: unknown): asserts ok {
  if (!ok) fail(what, got);
}

function present<T>(value: T | undefined, what: string, got: unknown): T {
  return value === undefined ? fail(what, got) : value;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const created = await client.POST("/api/v1/jobs", {
  body: {
    name: "TypeScript smoke",
    url: "https://example.com/hooks/typescript",
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: '{"from":"typescript"}',
    retry: { max_attempts: 2 },
    schedule: { kind: "cron", expr: "0 3 * * *", timezone: "Europe/Oslo" },
  },
});
check(created.response.status === 201, "create job: status", created.response.status);
const job: Job = present(created.data, "create job: no body", created.error);
check(uuid.test(job.id), "create job: id", job.id);
check(job.name === "TypeScript smoke" && job.method === "POST" && job.enabled, "create job: fields", job);
check(job.schedule.kind === "cron" && job.schedule.timezone === "Europe/Oslo", "create job: schedule", job.schedule);
check(job.retry.max_attempts === 2, "create job: retry", job.retry);
check(created.response.headers.get("location") === `/api/v1/jobs/${job.id}`, "create job: Location", created.response.headers.get("location"));

const listed = await client.GET("/api/v1/jobs", { params: { query: { limit: 100 } } });
check(listed.response.status === 200, "list jobs: status", listed.response.status);
const page = present(listed.data, "list jobs: no body", listed.error);
check(page.data.some((j: Job) => j.id === job.id && j.url === "https://example.com/hooks/typescript"), "list jobs: the new job is missing", page.data.map((j: Job) => j.id));
check(page.next_cursor === null, "list jobs: next_cursor", page.next_cursor);

const triggered = await client.POST("/api/v1/jobs/{id}/trigger", { params: { path: { id: job.id } } });
check(triggered.response.status === 202, "trigger job: status", triggered.response.status);
const execution: Triggered = present(triggered.data, "trigger job: no body", triggered.error);
const run: Execution = execution;
check(run.job_id === job.id && run.source === "manual" && run.status === "pending", "trigger job: execution", run);
check(run.max_attempts === 2 && run.request.url === job.url && run.message_id.startsWith("msg_"), "trigger job: request", run);

const read = await client.GET("/api/v1/executions/{id}", { params: { path: { id: run.id } } });
check(read.response.status === 200, "get execution: status", read.response.status);
const detail: Detail = present(read.data, "get execution: no body", read.error);
check(detail.id === run.id && detail.job_id === job.id && detail.message_id === run.message_id, "get execution: ids", detail);
check(Array.isArray(detail.attempts) && detail.attempts.length === 0, "get execution: attempts", detail.attempts);

const missing = await client.GET("/api/v1/jobs/{id}", { params: { path: { id: "00000000-0000-7000-8000-000000000000" } } });
check(missing.response.status === 404 && missing.error?.type === "https://prikke.eu/problems/not-found", "get missing job: problem", missing.error);

console.log(`typescript smoke: job ${job.id} created, listed, triggered; execution ${run.id} read back`);
