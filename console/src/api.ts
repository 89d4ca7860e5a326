// The REST API of `sluice serve` (docs/api.md), under /api/v1 on the host that served the
// console. Paths and shapes follow Arroyo's API; the readers below accept both camelCase and
// snake_case field names so that the console keeps working while the API settles.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

function field<T>(o: Json | undefined, ...names: string[]): T | undefined {
  if (!o) return undefined;
  for (const n of names) {
    if (o[n] !== undefined && o[n] !== null) return o[n] as T;
  }
  return undefined;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(API + path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: reported below if the status is an error.
  }
  if (!res.ok) {
    // The API's errors are {"error": "..."}; anything else (a proxy's HTML page) is summed up.
    const msg = field<string>(parsed as Json, "error", "message") ?? res.statusText;
    throw new ApiError(res.status, `${method} ${path}: ${res.status} ${msg}`);
  }
  return parsed as T;
}

function list(v: unknown): Json[] {
  if (Array.isArray(v)) return v as Json[];
  const data = field<unknown>(v as Json, "data", "items");
  return Array.isArray(data) ? (data as Json[]) : [];
}

// ---- catalog ----

export interface ConnectorOption {
  name: string;
  required: boolean;
  description: string;
}

export interface Connector {
  id: string;
  name: string;
  description: string;
  source: boolean;
  sink: boolean;
  options: ConnectorOption[];
}

function readOptions(c: Json): ConnectorOption[] {
  const raw = field<unknown>(c, "tableConfig", "table_config", "options");
  let schema: unknown = raw;
  if (typeof raw === "string") {
    try {
      schema = JSON.parse(raw);
    } catch {
      return [];
    }
  }
  if (Array.isArray(schema)) {
    return (schema as unknown[]).map((o) =>
      typeof o === "string" ? { name: o, required: false, description: "" } : {
          name: String(field(o as Json, "name") ?? ""),
          required: Boolean(field(o as Json, "required")),
          description: String(field(o as Json, "description") ?? ""),
        },
    );
  }
  // A JSON schema: {properties: {name: {description}}, required: [...]}.
  const props = field<Json>(schema as Json, "properties");
  const required = new Set(field<string[]>(schema as Json, "required") ?? []);
  if (!props) return [];
  return Object.entries(props).map(([name, p]) => ({
    name,
    required: required.has(name),
    description: String(field(p as Json, "description", "title") ?? ""),
  }));
}

export async function getConnectors(): Promise<Connector[]> {
  return list(await request<unknown>("GET", "/connectors")).map((c) => ({
    id: String(field(c, "id", "name")),
    name: String(field(c, "name", "id")),
    description: String(field(c, "description") ?? ""),
    source: Boolean(field(c, "source")),
    sink: Boolean(field(c, "sink")),
    options: readOptions(c),
  }));
}

export interface FunctionInfo {
  name: string;
  kind: string; // scalar | aggregate | window | table
}

export async function getFunctions(): Promise<FunctionInfo[]> {
  return list(await request<unknown>("GET", "/functions")).map((f) => ({
    name: String(field(f, "name")),
    kind: String(field(f, "kind") ?? "scalar"),
  }));
}

// ---- validation and the planned graph ----

export interface Diagnostic {
  message: string;
  line: number; // 1-based; 0 when the server gave no position
  column: number; // 1-based
  endLine: number;
  endColumn: number;
}

export interface GraphNode {
  id: string;
  operator: string;
  description: string;
  parallelism: number;
}

export interface GraphEdge {
  id: string; // edgeId: the edge's index, for .../tap?edge=<id>
  src: string;
  dest: string;
  kind: string; // forward | shuffle | ...
  schema: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface TableColumn {
  name: string;
  type: string;
}

export interface TableInfo {
  name: string;
  connector: string;
  kind: string; // source | sink | view | memory
  columns: TableColumn[];
}

export interface Validation {
  graph: Graph | null;
  diagnostics: Diagnostic[];
  tables: TableInfo[];
}

// "line 3, column 7: ..." in a plain message, as `sluice run` prints it.
const POSITION = /line (\d+), column (\d+)/;

export function readDiagnostic(e: unknown): Diagnostic {
  if (typeof e === "string") {
    const m = POSITION.exec(e);
    const line = m ? Number(m[1]) : 0;
    const column = m ? Number(m[2]) : 0;
    return { message: e, line, column, endLine: line, endColumn: column };
  }
  const o = e as Json;
  const span = field<Json>(o, "span", "location") ?? o;
  const start = field<Json>(span, "start") ?? span;
  const end = field<Json>(span, "end") ?? start;
  const line = Number(field(start, "line") ?? 0);
  const column = Number(field(start, "column", "col") ?? 0);
  const message = String(field(o, "message", "error") ?? JSON.stringify(e));
  if (!line) return readDiagnostic(message);
  return {
    message,
    line,
    column,
    endLine: Number(field(end, "line", "endLine", "end_line") ?? line),
    endColumn: Number(field(end, "column", "endColumn", "end_column") ?? column),
  };
}

export function readGraph(g: unknown): Graph | null {
  if (!g || typeof g !== "object") return null;
  const nodes = list(field(g as Json, "nodes")).map((n) => ({
    id: String(field(n, "nodeId", "node_id", "id")),
    operator: String(field(n, "operator", "name") ?? ""),
    description: String(field(n, "description", "label") ?? ""),
    parallelism: Number(field(n, "parallelism") ?? 1),
  }));
  const edges = list(field(g as Json, "edges")).map((e, i) => ({
    id: String(field(e, "edgeId", "edge_id") ?? i),
    src: String(field(e, "srcId", "src_id", "src", "from")),
    dest: String(field(e, "destId", "dest_id", "dest", "to")),
    kind: String(field(e, "edgeType", "edge_type", "kind") ?? ""),
    schema: String(field(e, "valueType", "value_type", "schema") ?? ""),
  }));
  return { nodes, edges };
}

function readTables(v: unknown): TableInfo[] {
  return list(v).map((t) => ({
    name: String(field(t, "name")),
    connector: String(field(t, "connector") ?? ""),
    kind: String(field(t, "kind", "tableType", "table_type", "type") ?? ""),
    columns: list(field(t, "columns", "fields", "schema")).map((c) => ({
      name: String(field(c, "name", "fieldName", "field_name")),
      type: String(field(c, "type", "fieldType", "field_type", "data_type") ?? ""),
    })),
  }));
}

// The tables a query declares, with their columns (the console's own route, docs/console.md).
export async function getTables(query: string): Promise<TableInfo[]> {
  return readTables(field(await request<Json>("POST", "/catalog", { query }), "tables"));
}

// The graph is planned at `parallelism` (chaining depends on it).
export async function validateQuery(query: string, parallelism = 1): Promise<Validation> {
  let res: Json;
  try {
    res = await request<Json>("POST", "/pipelines/validate_query", { query, parallelism });
  } catch (e) {
    // A 400 carrying the SQL error is a diagnostic, not a failure of the console.
    if (e instanceof ApiError && e.status === 400) {
      return { graph: null, diagnostics: [readDiagnostic(e.message.replace(/^.*?: 400 /, ""))], tables: [] };
    }
    throw e;
  }
  const errors = field<unknown[]>(res, "diagnostics", "errors") ?? [];
  return {
    graph: readGraph(field(res, "graph")),
    diagnostics: errors.map(readDiagnostic),
    tables: readTables(field(res, "tables")),
  };
}

// ---- pipelines ----

export interface Pipeline {
  id: string;
  name: string;
  query: string;
  state: string;
  stop: string;
  parallelism: number;
  checkpointIntervalMicros: number;
  createdAt: number;
  graph: Graph | null;
  failureMessage: string;
  jobId: string;
}

function readPipeline(p: Json): Pipeline {
  return {
    id: String(field(p, "id", "pipelineId", "pipeline_id")),
    name: String(field(p, "name") ?? ""),
    query: String(field(p, "query") ?? ""),
    state: String(field(p, "state", "status") ?? field(p, "actionText", "action_text") ?? ""),
    stop: String(field(p, "stop") ?? "none"),
    parallelism: Number(field(p, "parallelism") ?? 1),
    checkpointIntervalMicros: Number(
      field(p, "checkpointIntervalMicros", "checkpoint_interval_micros") ?? 0,
    ),
    createdAt: Number(field(p, "createdAt", "created_at") ?? 0),
    graph: readGraph(field(p, "graph")),
    failureMessage: String(field(p, "failureReason", "failureMessage", "failure_message") ?? ""),
    jobId: String(field(p, "jobId", "job_id") ?? ""),
  };
}

export async function listPipelines(): Promise<Pipeline[]> {
  return list(await request<unknown>("GET", "/pipelines")).map(readPipeline);
}

export async function getPipeline(id: string): Promise<Pipeline> {
  return readPipeline(await request<Json>("GET", `/pipelines/${encodeURIComponent(id)}`));
}

export interface NewPipeline {
  name: string;
  query: string;
  parallelism: number;
  checkpointIntervalMicros: number;
}

export async function createPipeline(p: NewPipeline): Promise<Pipeline> {
  return readPipeline(
    await request<Json>("POST", "/pipelines", {
      name: p.name,
      query: p.query,
      parallelism: p.parallelism,
      checkpointIntervalMicros: p.checkpointIntervalMicros,
    }),
  );
}

export type StopMode = "none" | "checkpoint" | "graceful" | "immediate";

// allowNonRestoredState: starting an edited pipeline, drop the state of the operators the edited
// query no longer has instead of refusing (docs/api.md, "Editing a stopped pipeline").
export async function setStop(id: string, stop: StopMode, allowNonRestoredState = false): Promise<Pipeline> {
  return readPipeline(
    await request<Json>(
      "PATCH",
      `/pipelines/${encodeURIComponent(id)}`,
      allowNonRestoredState ? { stop, allowNonRestoredState } : { stop },
    ),
  );
}

// Edits a stopped pipeline's query; the next start keeps the state of the unchanged operators.
export async function updateQuery(id: string, query: string): Promise<Pipeline> {
  return readPipeline(
    await request<Json>("PATCH", `/pipelines/${encodeURIComponent(id)}`, { query }),
  );
}

export async function restartPipeline(id: string, withoutState: boolean): Promise<void> {
  await request<unknown>(
    "POST",
    `/pipelines/${encodeURIComponent(id)}/restart`,
    withoutState ? { ignoreState: true } : {},
  );
}

// A preview is a pipeline whose rows are read from its job's output stream (docs/api.md).
export async function createPreview(query: string): Promise<Pipeline> {
  return readPipeline(await request<Json>("POST", "/pipelines/preview", { query }));
}

export async function deletePipeline(id: string): Promise<void> {
  await request<unknown>("DELETE", `/pipelines/${encodeURIComponent(id)}`);
}

export interface Job {
  id: string;
  state: string;
  runningDesired: boolean;
  startTime: number;
  finishTime: number;
  failureMessage: string;
}

export async function listJobs(pipelineId: string): Promise<Job[]> {
  return list(
    await request<unknown>("GET", `/pipelines/${encodeURIComponent(pipelineId)}/jobs`),
  ).map((j) => ({
    id: String(field(j, "id", "jobId", "job_id")),
    state: String(field(j, "state") ?? ""),
    runningDesired: Boolean(field(j, "runningDesired", "running_desired")),
    startTime: Number(field(j, "startTime", "start_time") ?? 0),
    finishTime: Number(field(j, "finishTime", "finish_time") ?? 0),
    failureMessage: String(field(j, "failureMessage", "failure_message") ?? ""),
  }));
}

function jobPath(pipelineId: string, jobId: string): string {
  return `/pipelines/${encodeURIComponent(pipelineId)}/jobs/${encodeURIComponent(jobId)}`;
}

export interface Checkpoint {
  epoch: number;
  startTime: number; // microseconds since the epoch
  finishTime: number; // 0 while in progress
  bytes: number;
  kind: string; // periodic | stop | end
  operators: { nodeId: string; bytes: number }[];
}

export async function listCheckpoints(pipelineId: string, jobId: string): Promise<Checkpoint[]> {
  return list(await request<unknown>("GET", `${jobPath(pipelineId, jobId)}/checkpoints`)).map(
    (c) => {
      // Files per operator chain and subtask: summed per chain.
      const byNode = new Map<string, number>();
      for (const o of list(field(c, "operators", "operatorBytes", "operator_bytes"))) {
        const id = String(field(o, "nodeId", "node_id", "operator_id", "operatorId"));
        byNode.set(id, (byNode.get(id) ?? 0) + Number(field(o, "bytes", "size") ?? 0));
      }
      const operators = [...byNode].map(([nodeId, bytes]) => ({ nodeId, bytes }));
      return {
        epoch: Number(field(c, "epoch")),
        startTime: Number(field(c, "startTime", "start_time") ?? 0), // 0: not recorded
        kind: String(field(c, "kind") ?? ""),
        finishTime: Number(field(c, "finishTime", "finish_time") ?? 0),
        bytes: Number(
          field(c, "bytes", "size") ?? operators.reduce((s, o) => s + o.bytes, 0),
        ),
        operators,
      };
    },
  );
}

export interface JobError {
  createdAt: number;
  operatorId: string;
  taskIndex: number;
  message: string;
  details: string;
}

export async function listErrors(pipelineId: string, jobId: string): Promise<JobError[]> {
  return list(await request<unknown>("GET", `${jobPath(pipelineId, jobId)}/errors`)).map((e) => ({
    createdAt: Number(field(e, "createdAt", "created_at") ?? 0),
    operatorId: String(field(e, "operatorId", "operator_id", "nodeId") ?? ""),
    taskIndex: Number(field(e, "taskIndex", "task_index", "subtask") ?? 0),
    message: String(field(e, "message", "error") ?? ""),
    details: String(field(e, "details") ?? ""),
  }));
}

export interface SubtaskSeries {
  index: number;
  points: { time: number; value: number }[];
}

export interface MetricGroup {
  name: string;
  subtasks: SubtaskSeries[];
}

export interface OperatorMetrics {
  nodeId: string;
  groups: MetricGroup[];
}

// Sluice's operator_metric_groups lists operators (with their node and place in its chain) and
// per subtask their counters and rates; Arroyo's lists metric groups per node. Both become
// per-node groups here: rows in of the chain's first operator, rows out of its last, the
// backpressure of its task, the watermark of the last operator that has one.
export function readOperatorMetrics(v: unknown): OperatorMetrics[] {
  const entries = list(v);
  if (entries.some((o) => field(o, "metricGroups", "metric_groups"))) {
    return entries.map((o) => ({
      nodeId: String(field(o, "nodeId", "node_id", "operatorId", "operator_id")),
      groups: list(field(o, "metricGroups", "metric_groups")).map((g) => ({
        name: String(field(g, "name")),
        subtasks: list(field(g, "subtasks")).map((s) => ({
          index: Number(field(s, "index", "subtask") ?? 0),
          points: list(field(s, "metrics", "points")).map((m) => ({
            time: Number(field(m, "time") ?? 0),
            value: Number(field(m, "value") ?? 0),
          })),
        })),
      })),
    }));
  }
  const byNode = new Map<string, Json[]>();
  for (const o of entries) {
    const id = String(field(o, "nodeId", "node_id") ?? field(o, "operator"));
    (byNode.get(id) ?? byNode.set(id, []).get(id)!).push(o);
  }
  const out: OperatorMetrics[] = [];
  for (const [nodeId, ops] of byNode) {
    ops.sort((a, b) => Number(field(a, "chainIndex") ?? 0) - Number(field(b, "chainIndex") ?? 0));
    const series = (o: Json | undefined, name: string): SubtaskSeries[] =>
      list(field(o, "subtasks"))
        .filter((s) => typeof field(s, name) === "number")
        .map((s) => ({ index: Number(field(s, "index") ?? 0), points: [{ time: 0, value: Number(field(s, name)) }] }));
    const withWatermark = [...ops].reverse().find((o) => series(o, "watermark").length > 0);
    out.push({
      nodeId,
      groups: [
        { name: "messages_recv", subtasks: series(ops[0], "rowsInPerSecond") },
        { name: "messages_sent", subtasks: series(ops[ops.length - 1], "rowsOutPerSecond") },
        { name: "backpressure", subtasks: series(ops[0], "backpressure") },
        { name: "watermark", subtasks: series(withWatermark, "watermark") },
        { name: "watermark_lag", subtasks: series(withWatermark, "watermarkLagMicros") },
      ],
    });
  }
  return out;
}

export async function getOperatorMetrics(
  pipelineId: string,
  jobId: string,
): Promise<OperatorMetrics[]> {
  return readOperatorMetrics(
    await request<unknown>("GET", `${jobPath(pipelineId, jobId)}/operator_metric_groups`),
  );
}

export function outputPath(pipelineId: string, jobId: string): string {
  return API + `${jobPath(pipelineId, jobId)}/output`;
}

// The live tap on one edge of a running job (sampled rows crossing it).
export function tapPath(pipelineId: string, jobId: string, edgeId: string): string {
  return API + `${jobPath(pipelineId, jobId)}/tap?edge=${encodeURIComponent(edgeId)}`;
}
