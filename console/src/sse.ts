// Server-Sent Events over fetch: unlike EventSource it can POST a body (a preview's query) and
// it resumes with Last-Event-ID after a dropped connection, as the API promises.

export interface SseEvent {
  type: string; // "message" unless the server named it
  data: string;
  id: string;
}

// Splits a text stream into events (the WHATWG event-stream format: fields up to a blank line,
// `data` lines joined with "\n", comments starting with ":" ignored).
export class SseParser {
  private buffer = "";
  private type = "";
  private data: string[] = [];
  private id = "";
  lastEventId = "";

  push(chunk: string, emit: (e: SseEvent) => void): void {
    this.buffer += chunk;
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl < 0) return;
      const line = this.buffer.slice(0, nl);
      const width = this.buffer.startsWith("\r\n", nl) ? 2 : 1;
      this.buffer = this.buffer.slice(nl + width);
      this.line(line, emit);
    }
  }

  private line(line: string, emit: (e: SseEvent) => void): void {
    if (line === "") {
      if (this.data.length > 0) {
        if (this.id) this.lastEventId = this.id;
        emit({ type: this.type || "message", data: this.data.join("\n"), id: this.lastEventId });
      }
      this.type = "";
      this.data = [];
      this.id = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") this.type = value;
    else if (name === "data") this.data.push(value);
    else if (name === "id") this.id = value;
  }
}

export interface StreamOptions {
  url: string;
  method?: "GET" | "POST";
  body?: unknown;
  onEvent: (e: SseEvent) => void;
  onStatus?: (status: string) => void;
  // Reconnects after a dropped connection (with Last-Event-ID), up to this many times in a row.
  retries?: number;
}

// Reads the stream until `signal` aborts or the server ends it for good. Resolves when done;
// rejects with the server's error for a failed request.
export async function streamEvents(opts: StreamOptions, signal: AbortSignal): Promise<void> {
  const parser = new SseParser();
  let failures = 0;
  const retries = opts.retries ?? 3;
  let finished = false;
  while (!signal.aborted && !finished) {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (parser.lastEventId) headers["Last-Event-ID"] = parser.lastEventId;
    let res: Response;
    try {
      res = await fetch(opts.url, {
        method: opts.method ?? "GET",
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal,
      });
    } catch (e) {
      if (signal.aborted) return;
      if (++failures > retries) throw e;
      opts.onStatus?.("reconnecting");
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (!res.ok || !res.body) {
      const text = await res.text();
      let msg = text;
      try {
        msg = JSON.parse(text).error ?? text;
      } catch {
        // plain text
      }
      throw new Error(`${res.status} ${msg}`);
    }
    opts.onStatus?.("streaming");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        failures = 0;
        parser.push(value, (e) => {
          if (e.type === "done" || e.type === "end") finished = true;
          opts.onEvent(e);
        });
      }
    } catch (e) {
      if (signal.aborted) return;
      if (++failures > retries) throw e;
    }
    if (!finished && !signal.aborted) {
      // The server closed the stream without saying it was done: resume where we were.
      if (++failures > retries) return;
      opts.onStatus?.("reconnecting");
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

// The rows one output event carries: `{"rows": [...]}`, Arroyo's `{"batch": "<JSON rows>"}`,
// an array, or a single row object.
export function rowsOf(data: string): Record<string, unknown>[] {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return [{ value: data }];
  }
  if (Array.isArray(v)) return v as Record<string, unknown>[];
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.rows)) return o.rows as Record<string, unknown>[];
    if (typeof o.batch === "string") return rowsOf(o.batch);
    if (Array.isArray(o.batch)) return o.batch as Record<string, unknown>[];
    if (o.row && typeof o.row === "object") return [o.row as Record<string, unknown>];
    // Sluice's output events: {"operatorId", "subtask", "timestamp", "value": "<JSON row>"}.
    if (typeof o.value === "string" && "operatorId" in o) {
      try {
        const row = JSON.parse(o.value);
        return [row && typeof row === "object" && !Array.isArray(row) ? row : { value: row }];
      } catch {
        return [{ value: o.value }];
      }
    }
    return [o];
  }
  return [{ value: v }];
}
