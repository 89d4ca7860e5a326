// One pipeline: its state and actions, the dataflow graph with live metrics, the operators, the
// live rows of its sinks, checkpoints, errors and the query.
import { useMemo, useState } from "react";
import * as api from "../api";
import { DataflowGraph } from "../components/DataflowGraph";
import { OperatorTable } from "../components/OperatorTable";
import { Checkpoints } from "../components/Checkpoints";
import { RowsTable } from "../components/RowsTable";
import { useLiveRows } from "../live";
import { summarize } from "../metrics";
import { navigate } from "../router";
import { StateBadge, usePolling } from "./PipelineList";

const RUNNING = /running|created|schedul/i;

export function PipelineDetailsPage(props: { id: string }) {
  const [refresh, setRefresh] = useState(0);
  const [actionError, setActionError] = useState("");
  const [busy, setBusy] = useState(false);
  // The query being edited (stopped pipelines only), or null.
  const [draft, setDraft] = useState<string | null>(null);
  const [tab, setTab] = useState<"output" | "checkpoints" | "errors" | "query">("output");
  const pipeline = usePolling(() => api.getPipeline(props.id), 2000, [props.id, refresh]);
  const jobs = usePolling(() => api.listJobs(props.id), 2000, [props.id, refresh]);
  const job = jobs.value && jobs.value.length > 0 ? jobs.value[0] : null;
  const jobId = job?.id ?? null;
  const metrics = usePolling(
    () => (jobId ? api.getOperatorMetrics(props.id, jobId) : Promise.resolve([])),
    1000,
    [props.id, jobId],
  );
  const checkpoints = usePolling(
    () => (jobId ? api.listCheckpoints(props.id, jobId) : Promise.resolve([])),
    2000,
    [props.id, jobId],
  );
  const errors = usePolling(
    () => (jobId ? api.listErrors(props.id, jobId) : Promise.resolve([])),
    2000,
    [props.id, jobId],
  );
  const summaries = useMemo(() => {
    const m = new Map<string, ReturnType<typeof summarize>>();
    for (const o of metrics.value ?? []) m.set(o.nodeId, summarize(o));
    return m;
  }, [metrics.value]);
  const p = pipeline.value;
  const running = p ? RUNNING.test(p.state) && !/stop/i.test(p.state) : false;
  const outputRequest = useMemo(
    () => (jobId && tab === "output" ? { url: api.outputPath(props.id, jobId) } : null),
    [props.id, jobId, tab],
  );
  const output = useLiveRows(outputRequest);
  // A live tap: click an edge of the running pipeline's graph to see the rows crossing it.
  const [tapKey, setTapKey] = useState<string | null>(null);
  const tapEdge = p?.graph?.edges.find((e) => `${e.src}->${e.dest}` === tapKey) ?? null;
  const tapEdgeId = tapEdge?.id ?? null;
  const tapRequest = useMemo(
    () => (jobId && running && tapEdgeId !== null ? { url: api.tapPath(props.id, jobId, tapEdgeId) } : null),
    [props.id, jobId, running, tapEdgeId],
  );
  const tap = useLiveRows(tapRequest);

  const act = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setActionError("");
    try {
      await f();
      setRefresh((r) => r + 1);
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (pipeline.error && !p) return <div className="page error-box">{pipeline.error}</div>;
  if (!p) return <div className="page muted">Loading…</div>;
  return (
    <div className="page">
      <div className="toolbar">
        <h2 data-testid="pipeline-title">{p.name}</h2>
        <StateBadge state={p.state} />
        <span className="spacer" />
        {running ? (
          <>
            <button disabled={busy} onClick={() => act(() => api.setStop(p.id, "checkpoint"))} data-testid="stop" title="Take a final checkpoint, then stop">
              Stop
            </button>
            <button disabled={busy} onClick={() => act(() => api.setStop(p.id, "immediate"))} data-testid="stop-immediate">
              Stop now
            </button>
          </>
        ) : (
          <button disabled={busy} className="primary" onClick={() => act(() => api.setStop(p.id, "none"))} data-testid="start">
            Start
          </button>
        )}
        <button disabled={busy} onClick={() => act(() => api.restartPipeline(p.id, false))} data-testid="restart">
          Restart
        </button>
        <button disabled={busy} onClick={() => act(() => api.restartPipeline(p.id, true))} data-testid="restart-without-state">
          Restart without state
        </button>
        <button
          disabled={busy || running}
          onClick={() =>
            confirm(`Delete pipeline ${p.name}?`) && act(async () => {
              await api.deletePipeline(p.id);
              navigate("/pipelines");
            })
          }
          data-testid="delete"
        >
          Delete
        </button>
      </div>
      {actionError && (
        <div className="error-box" data-testid="action-error">
          {actionError}
          {/allowNonRestoredState/.test(actionError) && !running && (
            <div>
              <button
                disabled={busy}
                onClick={() => act(() => api.setStop(p.id, "none", true))}
                data-testid="start-drop-state"
                title="The operators named above start empty; the others keep their state"
              >
                Start, dropping that state
              </button>
            </div>
          )}
        </div>
      )}
      {(p.failureMessage || job?.failureMessage) && (
        <div className="error-box" data-testid="failure">{job?.failureMessage || p.failureMessage}</div>
      )}
      <div className="muted small">
        parallelism {p.parallelism}
        {p.checkpointIntervalMicros ? ` · checkpoint every ${p.checkpointIntervalMicros / 1e6} s` : ""}
        {job ? ` · job ${job.id} (${job.state})` : ""}
      </div>
      {p.graph ? (
        <section>
          <h3>Dataflow</h3>
          <DataflowGraph
            graph={p.graph}
            metrics={summaries}
            selectedEdge={tapKey}
            onEdgeClick={running ? (key) => setTapKey((k) => (k === key ? null : key)) : undefined}
          />
          {running && p.graph.edges.length > 0 && !tapEdge && (
            <div className="muted small">Click an edge to tap it: see a sample of the rows crossing it.</div>
          )}
          {tapEdge && (
            <div className="tap" data-testid="tap">
              <div className="toolbar">
                <strong>
                  Live tap on edge {tapEdge.src} → {tapEdge.dest}
                </strong>
                <span className="muted small" data-testid="tap-status">
                  {tap.status} · {tap.total} rows (sampled, at most 100/s)
                </span>
                <span className="spacer" />
                <button onClick={() => setTapKey(null)} data-testid="tap-close">
                  Close
                </button>
              </div>
              {tap.error && <div className="error-box">{tap.error}</div>}
              <RowsTable rows={tap.rows} testId="tap-rows" />
            </div>
          )}
          <OperatorTable nodes={p.graph.nodes} metrics={summaries} />
        </section>
      ) : (
        <p className="muted">No graph.</p>
      )}
      <nav className="tabs">
        {(["output", "checkpoints", "errors", "query"] as const).map((t) => (
          <button key={t} className={tab === t ? "active" : ""} onClick={() => setTab(t)} data-testid={`tab-${t}`}>
            {t[0].toUpperCase() + t.slice(1)}
            {t === "errors" && errors.value && errors.value.length > 0 ? ` (${errors.value.length})` : ""}
          </button>
        ))}
      </nav>
      {tab === "output" && (
        <section>
          <div className="muted small" data-testid="output-status">
            {jobId ? `${output.status} · ${output.total} rows` : "no job"}
          </div>
          {output.error && <div className="error-box">{output.error}</div>}
          <RowsTable rows={output.rows} testId="output-rows" />
        </section>
      )}
      {tab === "checkpoints" && <Checkpoints checkpoints={checkpoints.value ?? []} />}
      {tab === "errors" && (
        <section data-testid="errors">
          {(errors.value ?? []).length === 0 && <p className="muted">No errors.</p>}
          <ul className="errors">
            {(errors.value ?? []).map((e, i) => (
              <li key={i}>
                <span className="muted small">
                  {e.createdAt ? new Date(e.createdAt / 1000).toLocaleString() : ""} {e.operatorId}
                  {e.operatorId ? `[${e.taskIndex}]` : ""}
                </span>
                <div>{e.message}</div>
                {e.details && <pre className="small">{e.details}</pre>}
              </li>
            ))}
          </ul>
        </section>
      )}
      {tab === "query" &&
        (draft === null ? (
          <section>
            <pre className="query" data-testid="query">{p.query}</pre>
            <button
              disabled={busy || running}
              onClick={() => setDraft(p.query)}
              data-testid="edit-query"
              title={running ? "Stop the pipeline to edit its query" : "Edit the query; the next start keeps the state of the operators it does not change"}
            >
              Edit
            </button>
          </section>
        ) : (
          <section>
            <textarea
              className="query-draft"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              rows={Math.max(8, draft.split("\n").length + 1)}
              spellCheck={false}
              data-testid="query-draft"
            />
            <div className="toolbar">
              <button
                className="primary"
                disabled={busy || running}
                onClick={() =>
                  act(async () => {
                    await api.updateQuery(p.id, draft);
                    setDraft(null);
                  })
                }
                data-testid="save-query"
              >
                Save
              </button>
              <button disabled={busy} onClick={() => setDraft(null)} data-testid="cancel-edit">
                Cancel
              </button>
              <span className="muted small">Start keeps the state of the operators the edit does not change.</span>
            </div>
          </section>
        ))}
    </div>
  );
}
