// A React hook that reads live rows from an SSE endpoint and keeps the newest ones.
import { useEffect, useState } from "react";
import { rowsOf, streamEvents } from "./sse";
import type { Row } from "./components/RowsTable";

export const KEPT_ROWS = 500;

export interface LiveRows {
  rows: Row[];
  total: number; // rows received since the stream opened
  status: string; // connecting | streaming | reconnecting | lagged | done | error | closed
  error: string;
}

// `request` null means no stream. A new request object opens a new stream.
export function useLiveRows(request: { url: string; method?: "GET" | "POST"; body?: unknown } | null): LiveRows {
  const [state, setState] = useState<LiveRows>({ rows: [], total: 0, status: "closed", error: "" });
  useEffect(() => {
    if (!request) return;
    const abort = new AbortController();
    setState({ rows: [], total: 0, status: "connecting", error: "" });
    let pending: Row[] = [];
    let received = 0;
    let flushScheduled = false;
    // Rows are applied at most once per animation frame: a fast pipeline never floods React.
    const flush = () => {
      flushScheduled = false;
      const batch = pending;
      pending = [];
      setState((s) => ({
        ...s,
        rows: [...batch.reverse(), ...s.rows].slice(0, KEPT_ROWS),
        total: received,
      }));
    };
    streamEvents(
      {
        url: request.url,
        method: request.method,
        body: request.body,
        onStatus: (status) => setState((s) => ({ ...s, status })),
        onEvent: (e) => {
          if (e.type === "error") {
            let msg = e.data;
            try {
              msg = JSON.parse(e.data).error ?? e.data;
            } catch {
              // plain text
            }
            setState((s) => ({ ...s, status: "error", error: msg }));
          } else if (e.type === "lagged") {
            setState((s) => ({ ...s, status: "lagged" }));
          } else if (e.type === "done" || e.type === "end") {
            setState((s) => ({ ...s, status: "done" }));
          } else if (e.type === "row" || e.type === "message" || e.type === "rows" || e.type === "output") {
            const rows = rowsOf(e.data);
            received += rows.length;
            pending.push(...rows);
            if (pending.length > KEPT_ROWS) pending = pending.slice(-KEPT_ROWS);
            if (!flushScheduled) {
              flushScheduled = true;
              requestAnimationFrame(flush);
            }
          }
        },
      },
      abort.signal,
    ).then(
      () => setState((s) => (s.status === "error" ? s : { ...s, status: s.status === "done" ? "done" : "closed" })),
      (e: unknown) => setState((s) => ({ ...s, status: "error", error: String(e instanceof Error ? e.message : e) })),
    );
    return () => abort.abort();
  }, [request]);
  return state;
}
