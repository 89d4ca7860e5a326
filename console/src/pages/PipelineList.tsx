// Every pipeline with its state, refreshed every two seconds.
import { useEffect, useState } from "react";
import * as api from "../api";
import { navigate } from "../router";

export function usePolling<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[]): { value: T | null; error: string } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let live = true;
    const tick = () =>
      load().then(
        (v) => {
          if (live) {
            setValue(v);
            setError("");
          }
        },
        (e: Error) => live && setError(e.message),
      );
    tick();
    const timer = setInterval(tick, intervalMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { value, error };
}

export function StateBadge(props: { state: string }) {
  const s = props.state.toLowerCase();
  return <span className={`badge state-${s.replace(/[^a-z]/g, "")}`} data-testid="pipeline-state">{props.state || "unknown"}</span>;
}

export function PipelineListPage() {
  const { value: pipelines, error } = usePolling(api.listPipelines, 2000, []);
  return (
    <div className="page">
      <div className="toolbar">
        <h2>Pipelines</h2>
        <span className="spacer" />
        <button className="primary" onClick={() => navigate("/new")} data-testid="new-pipeline">
          New pipeline
        </button>
      </div>
      {error && <div className="error-box">{error}</div>}
      {pipelines && pipelines.length === 0 && <p className="muted">No pipelines yet. Write one with “New pipeline”.</p>}
      {pipelines && pipelines.length > 0 && (
        <table className="list" data-testid="pipelines">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Parallelism</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {pipelines.map((p) => (
              <tr key={p.id} className="clickable" onClick={() => navigate(`/pipelines/${p.id}`)}>
                <td>
                  <a href={`#/pipelines/${p.id}`}>{p.name}</a>
                </td>
                <td>
                  <StateBadge state={p.state} />
                </td>
                <td>{p.parallelism}</td>
                <td>{p.createdAt ? new Date(p.createdAt / 1000).toLocaleString() : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
