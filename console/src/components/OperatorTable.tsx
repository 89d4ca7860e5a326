// Per operator chain: rows per second in and out, backpressure, watermark and its lag; a row
// opens to the watermark of each subtask, marking the one that holds the operator's
// watermark (and so its windows) back.
import { useState } from "react";
import type { GraphNode } from "../api";
import { formatMicros, formatRate, formatTimeMicros, type OperatorSummary } from "../metrics";

export function OperatorTable(props: { nodes: GraphNode[]; metrics: Map<string, OperatorSummary> }) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <table className="list operators" data-testid="operator-metrics">
      <thead>
        <tr>
          <th>Operator</th>
          <th>Rows in</th>
          <th>Rows out</th>
          <th>Backpressure</th>
          <th>Watermark</th>
          <th>Lag</th>
        </tr>
      </thead>
      <tbody>
        {props.nodes.map((n) => {
          const m = props.metrics.get(n.id);
          const slowest = m && m.subtaskWatermarks.length > 1
            ? m.subtaskWatermarks.reduce((a, b) => (b.watermark < a.watermark ? b : a))
            : null;
          return [
            <tr key={n.id} className="clickable" onClick={() => setOpen(open === n.id ? null : n.id)} data-testid={`operator-${n.id}`}>
              <td title={n.description}>
                {open === n.id ? "▾" : "▸"} {n.operator || n.description} <span className="muted">×{n.parallelism}</span>
              </td>
              <td data-testid="rows-in">{m ? formatRate(m.rowsInPerSec) : "—"}</td>
              <td data-testid="rows-out">{m ? formatRate(m.rowsOutPerSec) : "—"}</td>
              <td>{m ? `${(m.backpressure * 100).toFixed(0)}%` : "—"}</td>
              <td className="mono small">{m ? formatTimeMicros(m.watermark) : "—"}</td>
              <td>{m && m.watermarkLag !== null ? formatMicros(m.watermarkLag) : "—"}</td>
            </tr>,
            open === n.id && (
              <tr key={n.id + "-subtasks"} className="subtasks">
                <td colSpan={6}>
                  {m && m.subtaskWatermarks.length > 0 ? (
                    <ul data-testid="subtask-watermarks">
                      {m.subtaskWatermarks.map((s) => (
                        <li key={s.index} className={slowest && slowest.index === s.index ? "holding" : ""}>
                          subtask {s.index}: <span className="mono">{formatTimeMicros(s.watermark)}</span>
                          {slowest && slowest.index === s.index && " ← holds the watermark back"}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">No watermark reported by this operator’s subtasks.</span>
                  )}
                </td>
              </tr>
            ),
          ];
        })}
      </tbody>
    </table>
  );
}
