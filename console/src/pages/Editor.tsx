// A new pipeline: the SQL editor with the catalog beside it, diagnostics as you type, the planned
// graph, a live preview of the rows, and "start" to run it as a pipeline.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import * as api from "../api";
import { SqlEditor } from "../components/SqlEditor";
import { Catalog } from "../components/Catalog";
import { RowsTable } from "../components/RowsTable";
import { DataflowGraph } from "../components/DataflowGraph";
import { useLiveRows } from "../live";
import { navigate } from "../router";

export const EXAMPLE = `-- A generator of 10 rows a second; Preview shows the result as it arrives.
CREATE TABLE ticks WITH (
  connector = 'impulse',
  event_rate = '10'
);

SELECT counter, counter % 3 AS bucket, timestamp
FROM ticks
WHERE counter % 5 <> 4;
`;

const DRAFT_KEY = "sluice.draft";

// Stops a preview pipeline at once and deletes it once it stopped (a running pipeline cannot be
// deleted). Best effort: a preview left behind shows in the pipelines list.
async function discardPreview(id: string): Promise<void> {
  try {
    await api.setStop(id, "immediate");
    for (let i = 0; i < 50; i++) {
      const p = await api.getPipeline(id);
      if (!/running|created|scheduling|stopping/i.test(p.state)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await api.deletePipeline(id);
  } catch {
    // Already gone, or the server went away.
  }
}

export function EditorPage() {
  const [query, setQuery] = useState(() => localStorage.getItem(DRAFT_KEY) ?? EXAMPLE);
  const [validation, setValidation] = useState<api.Validation>({ graph: null, diagnostics: [], tables: [] });
  const [validating, setValidating] = useState(false);
  const [validateError, setValidateError] = useState("");
  const [tables, setTables] = useState<api.TableInfo[]>([]);
  const [connectors, setConnectors] = useState<api.Connector[]>([]);
  const [functions, setFunctions] = useState<api.FunctionInfo[]>([]);
  const [catalogError, setCatalogError] = useState("");
  // The preview pipeline and the request for its live rows.
  const [preview, setPreview] = useState<{ url: string; pipelineId: string } | null>(null);
  const [previewError, setPreviewError] = useState("");
  const [name, setName] = useState("");
  const [parallelism, setParallelism] = useState(1);
  const [checkpointSeconds, setCheckpointSeconds] = useState(10);
  const [startError, setStartError] = useState("");
  const [starting, setStarting] = useState(false);
  const live = useLiveRows(preview);

  useEffect(() => {
    api.getConnectors().then(setConnectors, (e: Error) => setCatalogError(e.message));
    // The functions list is optional: an older server without it still gets a working console.
    api.getFunctions().then(setFunctions, () => setFunctions([]));
  }, []);

  // Validate 400 ms after the last keystroke; an answer to an older text is dropped.
  const generation = useRef(0);
  useEffect(() => {
    localStorage.setItem(DRAFT_KEY, query);
    const g = ++generation.current;
    const timer = setTimeout(() => {
      setValidating(true);
      // The catalog keeps the tables declared above a mistake, so completion works while typing.
      api.getTables(query).then(
        (t) => g === generation.current && setTables(t),
        () => undefined,
      );
      api.validateQuery(query, parallelism).then(
        (v) => {
          if (g === generation.current) {
            setValidation(v);
            setValidateError("");
          }
        },
        (e: Error) => {
          // The server could not validate (not a mistake in the SQL): said above the editor.
          if (g === generation.current) {
            setValidation({ graph: null, diagnostics: [], tables: [] });
            setValidateError(e.message);
          }
        },
      ).finally(() => g === generation.current && setValidating(false));
    }, 400);
    return () => clearTimeout(timer);
  }, [query, parallelism]);

  const startPreview = useCallback(async () => {
    setPreviewError("");
    try {
      const p = await api.createPreview(query);
      setPreview({ url: api.outputPath(p.id, p.jobId), pipelineId: p.id });
    } catch (e) {
      setPreviewError((e as Error).message);
    }
  }, [query]);

  const stopPreview = useCallback(() => {
    setPreview((current) => {
      if (current) void discardPreview(current.pipelineId);
      return null;
    });
  }, []);

  // Leaving the page ends the preview.
  const previewRef = useRef(preview);
  previewRef.current = preview;
  useEffect(() => () => {
    if (previewRef.current) void discardPreview(previewRef.current.pipelineId);
  }, []);

  const start = async () => {
    setStarting(true);
    setStartError("");
    try {
      const p = await api.createPipeline({
        name: name.trim() || "pipeline",
        query,
        parallelism,
        checkpointIntervalMicros: checkpointSeconds * 1_000_000,
      });
      localStorage.removeItem(DRAFT_KEY);
      navigate(`/pipelines/${p.id}`);
    } catch (e) {
      setStartError((e as Error).message);
    } finally {
      setStarting(false);
    }
  };

  const insert = (text: string) => setQuery((q) => text + "\n" + q);
  const valid = !validating && validation.diagnostics.length === 0 && validation.graph !== null;
  const graph = useMemo(() => validation.graph, [validation]);

  return (
    <div className="editor-page">
      <Catalog tables={tables} connectors={connectors} functions={functions} onInsert={insert} />
      <main className="editor-main">
        {catalogError && <div className="error-box">Catalog unavailable: {catalogError}</div>}
        {validateError && <div className="error-box" data-testid="validate-error">Cannot check the query: {validateError}</div>}
        <SqlEditor
          value={query}
          onChange={setQuery}
          diagnostics={validation.diagnostics}
          tables={tables}
          functions={functions}
          onRun={startPreview}
        />
        <div className="validation" data-testid="validation-status">
          {validating
            ? "Checking…"
            : validation.diagnostics.length > 0
              ? `${validation.diagnostics.length} problem${validation.diagnostics.length > 1 ? "s" : ""}`
              : validation.graph
                ? "✓ Valid"
                : ""}
        </div>
        {validation.diagnostics.length > 0 && (
          <ul className="diagnostics" data-testid="diagnostics">
            {validation.diagnostics.map((d, i) => (
              <li key={i}>
                {d.line ? <span className="mono">{`${d.line}:${d.column} `}</span> : null}
                {d.message}
              </li>
            ))}
          </ul>
        )}
        <div className="toolbar">
          {preview ? (
            <button onClick={stopPreview} data-testid="stop-preview">
              Stop preview
            </button>
          ) : (
            <button onClick={startPreview} disabled={!valid} data-testid="preview" title="Ctrl-Enter">
              Preview
            </button>
          )}
          <span className="spacer" />
          <label>
            Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="pipeline" data-testid="pipeline-name" />
          </label>
          <label>
            Parallelism{" "}
            <input type="number" min={1} max={64} value={parallelism} onChange={(e) => setParallelism(Math.max(1, Number(e.target.value)))} style={{ width: "4em" }} data-testid="parallelism" />
          </label>
          <label>
            Checkpoint every{" "}
            <input type="number" min={1} value={checkpointSeconds} onChange={(e) => setCheckpointSeconds(Math.max(1, Number(e.target.value)))} style={{ width: "4em" }} /> s
          </label>
          <button className="primary" onClick={start} disabled={!valid || starting} data-testid="start-pipeline">
            Start pipeline
          </button>
        </div>
        {startError && <div className="error-box" data-testid="start-error">{startError}</div>}
        {previewError && <div className="error-box" data-testid="preview-error">{previewError}</div>}
        {preview && (
          <section className="preview" data-testid="preview-panel">
            <h3>
              Preview <span className="muted small" data-testid="preview-status">{live.status} · {live.total} rows</span>
            </h3>
            {live.error && <div className="error-box">{live.error}</div>}
            {live.status === "lagged" && (
              <div className="error-box">The preview fell behind the pipeline and was dropped; stop and preview again.</div>
            )}
            <RowsTable rows={live.rows} testId="preview-rows" />
          </section>
        )}
        {!preview && graph && (
          <section>
            <h3>Planned dataflow</h3>
            <DataflowGraph graph={graph} />
          </section>
        )}
      </main>
    </div>
  );
}
