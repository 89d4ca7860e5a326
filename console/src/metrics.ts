// Reduces the API's per-subtask metric series to what the pipeline page shows per operator.
import type { OperatorMetrics } from "./api";

export interface OperatorSummary {
  rowsInPerSec: number;
  rowsOutPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  backpressure: number; // 0..1, the worst subtask
  watermark: number | null; // microseconds since the epoch, the slowest subtask
  watermarkLag: number | null; // microseconds, the slowest subtask
  stateBytes: number;
  subtasks: number;
  // Per subtask, for the watermark view: which subtask holds the operator back.
  subtaskWatermarks: { index: number; watermark: number }[];
}

const latest = (points: { time: number; value: number }[]) =>
  points.length ? points[points.length - 1].value : undefined;

const GROUPS: Record<string, keyof OperatorSummary> = {
  messages_recv: "rowsInPerSec",
  rows_in: "rowsInPerSec",
  messages_sent: "rowsOutPerSec",
  rows_out: "rowsOutPerSec",
  bytes_recv: "bytesInPerSec",
  bytes_in: "bytesInPerSec",
  bytes_sent: "bytesOutPerSec",
  bytes_out: "bytesOutPerSec",
  state_size: "stateBytes",
  state_bytes: "stateBytes",
};

export function summarize(m: OperatorMetrics | undefined): OperatorSummary {
  const s: OperatorSummary = {
    rowsInPerSec: 0,
    rowsOutPerSec: 0,
    bytesInPerSec: 0,
    bytesOutPerSec: 0,
    backpressure: 0,
    watermark: null,
    watermarkLag: null,
    stateBytes: 0,
    subtasks: 0,
    subtaskWatermarks: [],
  };
  if (!m) return s;
  for (const g of m.groups) {
    s.subtasks = Math.max(s.subtasks, g.subtasks.length);
    const values = g.subtasks
      .map((t) => ({ index: t.index, value: latest(t.points) }))
      .filter((v): v is { index: number; value: number } => v.value !== undefined);
    if (values.length === 0) continue;
    const sum = values.reduce((a, v) => a + v.value, 0);
    const key = GROUPS[g.name];
    if (key) {
      (s[key] as number) = sum;
    } else if (g.name === "backpressure") {
      s.backpressure = Math.max(...values.map((v) => v.value));
    } else if (g.name === "watermark") {
      s.watermark = Math.min(...values.map((v) => v.value));
      s.subtaskWatermarks = values.map((v) => ({ index: v.index, watermark: v.value }));
    } else if (g.name === "watermark_lag") {
      s.watermarkLag = Math.max(...values.map((v) => v.value));
    }
  }
  return s;
}

export function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M/s`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k/s`;
  return `${n.toFixed(n < 10 && n !== Math.round(n) ? 1 : 0)}/s`;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatMicros(us: number): string {
  if (us >= 60e6) return `${(us / 60e6).toFixed(1)} min`;
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(1)} ms`;
  return `${us} µs`;
}

export function formatTimeMicros(us: number | null): string {
  if (us === null || !Number.isFinite(us) || Math.abs(us) > 8.64e18) return "—";
  return new Date(us / 1000).toISOString().replace("T", " ").replace("Z", "");
}
