// Checkpoints of a job: a timeline of their durations and a bar of their sizes per operator.
import type { Checkpoint } from "../api";
import { formatBytes, formatMicros } from "../metrics";

export function Checkpoints(props: { checkpoints: Checkpoint[] }) {
  const cps = [...props.checkpoints].sort((a, b) => b.epoch - a.epoch).slice(0, 30);
  if (cps.length === 0) return <p className="muted">No checkpoint yet.</p>;
  const maxBytes = Math.max(1, ...cps.map((c) => c.bytes));
  const durationOf = (c: Checkpoint) => (c.finishTime && c.startTime ? c.finishTime - c.startTime : 0);
  const maxDuration = Math.max(1, ...cps.map(durationOf));
  return (
    <table className="list checkpoints" data-testid="checkpoints">
      <thead>
        <tr>
          <th>Epoch</th>
          <th>Kind</th>
          <th>Finished</th>
          <th>Duration</th>
          <th>Size</th>
          <th>Per operator</th>
        </tr>
      </thead>
      <tbody>
        {cps.map((c) => {
          const duration = durationOf(c);
          return (
            <tr key={c.epoch} data-testid={`checkpoint-${c.epoch}`}>
              <td>{c.epoch}</td>
              <td>{c.kind}</td>
              <td>{c.finishTime ? new Date(c.finishTime / 1000).toLocaleTimeString() : ""}</td>
              <td>
                <div className="bar-cell">
                  <div className="bar duration" style={{ width: `${(100 * duration) / maxDuration}%` }} />
                  <span>{!c.finishTime ? "in progress" : duration ? formatMicros(duration) : "—"}</span>
                </div>
              </td>
              <td>
                <div className="bar-cell">
                  <div className="bar size" style={{ width: `${(100 * c.bytes) / maxBytes}%` }} />
                  <span>{formatBytes(c.bytes)}</span>
                </div>
              </td>
              <td className="small">
                {c.operators
                  .filter((o) => o.bytes > 0)
                  .map((o) => `${o.nodeId}: ${formatBytes(o.bytes)}`)
                  .join(", ")}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
