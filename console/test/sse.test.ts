import { describe, expect, it } from "vitest";
import { SseParser, rowsOf, type SseEvent } from "../src/sse";

function parse(chunks: string[]): { events: SseEvent[]; parser: SseParser } {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (const c of chunks) parser.push(c, (e) => events.push(e));
  return { events, parser };
}

describe("SseParser", () => {
  it("splits events at blank lines, across chunk boundaries", () => {
    const { events } = parse(["id: 1\nda", "ta: {\"a\":1}\n", "\nid: 2\r\ndata: x\r\n\r\n"]);
    expect(events).toEqual([
      { type: "message", data: '{"a":1}', id: "1" },
      { type: "message", data: "x", id: "2" },
    ]);
  });

  it("joins data lines, keeps named events, ignores comments (heartbeats)", () => {
    const { events } = parse([": heartbeat\n\nevent: lagged\ndata: a\ndata: b\n\n"]);
    expect(events).toEqual([{ type: "lagged", data: "a\nb", id: "" }]);
  });

  it("remembers the last event id for Last-Event-ID, across events without one", () => {
    const { events, parser } = parse(["id: 7\ndata: a\n\ndata: b\n\n"]);
    expect(events.map((e) => e.id)).toEqual(["7", "7"]);
    expect(parser.lastEventId).toBe("7");
  });

  it("does not emit an event without data, nor an unfinished one", () => {
    const { events } = parse(["id: 3\n\ndata: half"]);
    expect(events).toEqual([]);
  });
});

describe("rowsOf", () => {
  it("reads the shapes an output event may have", () => {
    expect(rowsOf('{"rows":[{"a":1},{"a":2}]}')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(rowsOf('{"batch":"[{\\"a\\":1}]"}')).toEqual([{ a: 1 }]);
    expect(rowsOf('[{"a":1}]')).toEqual([{ a: 1 }]);
    expect(rowsOf('{"a":1}')).toEqual([{ a: 1 }]);
    expect(rowsOf("not json")).toEqual([{ value: "not json" }]);
  });
});
