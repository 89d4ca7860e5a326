// The dataflow graph as an SVG: operators in layers from sources to sinks, each coloured by its
// backpressure, each edge labelled with the rows per second its source sends.
import type { Graph } from "../api";
import { formatRate, type OperatorSummary } from "../metrics";

const NODE_W = 300;
const NODE_H = 54;
const GAP_X = 40;
const GAP_Y = 46;

export interface Layout {
  positions: Map<string, { x: number; y: number }>;
  width: number;
  height: number;
}

// Layers by longest path from a source; within a layer, in the order the graph lists them.
export function layout(graph: Graph): Layout {
  const depth = new Map<string, number>();
  const incoming = new Map<string, string[]>();
  for (const n of graph.nodes) incoming.set(n.id, []);
  for (const e of graph.edges) incoming.get(e.dest)?.push(e.src);
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle: not expected in a dataflow, but never loop
    visiting.add(id);
    const d = Math.max(-1, ...(incoming.get(id) ?? []).map(depthOf)) + 1;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const layers: string[][] = [];
  for (const n of graph.nodes) {
    const d = depthOf(n.id);
    (layers[d] ??= []).push(n.id);
  }
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const width = widest * NODE_W + (widest - 1) * GAP_X + 20;
  const positions = new Map<string, { x: number; y: number }>();
  layers.forEach((ids, d) => {
    const rowWidth = ids.length * NODE_W + (ids.length - 1) * GAP_X;
    ids.forEach((id, i) => {
      positions.set(id, { x: (width - rowWidth) / 2 + i * (NODE_W + GAP_X), y: 10 + d * (NODE_H + GAP_Y) });
    });
  });
  return { positions, width, height: layers.length * (NODE_H + GAP_Y) - GAP_Y + 20 };
}

// Green at no backpressure through yellow to red when the operator is blocked all the time.
export function backpressureColour(bp: number): string {
  const b = Math.min(Math.max(bp, 0), 1);
  const hue = 130 - 130 * b;
  return `hsl(${hue}, 65%, ${b > 0 ? 82 : 90}%)`;
}

export function DataflowGraph(props: {
  graph: Graph;
  metrics?: Map<string, OperatorSummary>;
  selectedEdge?: string | null;
  onEdgeClick?: (edgeKey: string) => void;
}) {
  const { positions, width, height } = layout(props.graph);
  return (
    <svg
      className="graph"
      data-testid="dataflow-graph"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label="dataflow graph"
    >
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#667" />
        </marker>
      </defs>
      {props.graph.edges.map((e) => {
        const a = positions.get(e.src);
        const b = positions.get(e.dest);
        if (!a || !b) return null;
        const key = `${e.src}->${e.dest}`;
        const x1 = a.x + NODE_W / 2;
        const y1 = a.y + NODE_H;
        const x2 = b.x + NODE_W / 2;
        const y2 = b.y;
        const rate = props.metrics?.get(e.src)?.rowsOutPerSec;
        const selected = props.selectedEdge === key;
        return (
          <g
            key={key}
            className={`edge ${selected ? "selected" : ""} ${props.onEdgeClick ? "clickable" : ""}`}
            data-testid={`edge-${key}`}
            onClick={() => props.onEdgeClick?.(key)}
          >
            <line x1={x1} y1={y1} x2={x2} y2={y2} stroke="transparent" strokeWidth={14} />
            <line x1={x1} y1={y1} x2={x2} y2={y2} stroke={selected ? "#2563eb" : "#667"} strokeWidth={selected ? 2.5 : 1.5}
              strokeDasharray={e.kind.toLowerCase().includes("shuffle") ? "5 3" : undefined} markerEnd="url(#arrow)" />
            <text x={(x1 + x2) / 2 + 6} y={(y1 + y2) / 2 + 4} className="edge-label">
              {rate !== undefined ? formatRate(rate) : ""} {e.kind ? `· ${e.kind}` : ""}
            </text>
          </g>
        );
      })}
      {props.graph.nodes.map((n) => {
        const p = positions.get(n.id)!;
        const m = props.metrics?.get(n.id);
        const label = n.operator || n.description;
        return (
          <g key={n.id} data-testid={`node-${n.id}`} transform={`translate(${p.x},${p.y})`}>
            <title>{`${n.operator}\n${n.description}\nparallelism ${n.parallelism}${m ? `\nbackpressure ${(m.backpressure * 100).toFixed(0)}%` : ""}`}</title>
            <rect width={NODE_W} height={NODE_H} rx={6} fill={backpressureColour(m?.backpressure ?? 0)} stroke="#556" />
            <text x={10} y={20} className="node-title">
              {label.length > 40 ? label.slice(0, 39) + "…" : label}
            </text>
            <text x={10} y={40} className="node-sub">
              {n.operator} ×{n.parallelism}
              {m ? ` · in ${formatRate(m.rowsInPerSec)}` : ""}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
