import { describe, expect, it } from "vitest";
import { layout, backpressureColour } from "../src/components/DataflowGraph";
import { summarize } from "../src/metrics";

describe("layout", () => {
  it("puts each operator one layer below its deepest input", () => {
    const g = {
      nodes: ["a", "b", "join", "sink"].map((id) => ({ id, operator: id, description: "", parallelism: 1 })),
      edges: [
        { src: "a", dest: "join", kind: "", schema: "" },
        { src: "b", dest: "join", kind: "", schema: "" },
        { src: "a", dest: "sink", kind: "", schema: "" },
        { src: "join", dest: "sink", kind: "", schema: "" },
      ],
    };
    const { positions } = layout(g);
    const y = (id: string) => positions.get(id)!.y;
    expect(y("a")).toBe(y("b"));
    expect(y("join")).toBeGreaterThan(y("a"));
    expect(y("sink")).toBeGreaterThan(y("join"));
    expect(positions.get("a")!.x).not.toBe(positions.get("b")!.x);
  });

  it("survives a cycle", () => {
    const g = {
      nodes: ["a", "b"].map((id) => ({ id, operator: id, description: "", parallelism: 1 })),
      edges: [
        { src: "a", dest: "b", kind: "", schema: "" },
        { src: "b", dest: "a", kind: "", schema: "" },
      ],
    };
    expect(layout(g).positions.size).toBe(2);
  });
});

describe("backpressureColour", () => {
  it("goes from green to red", () => {
    expect(backpressureColour(0)).toContain("hsl(130");
    expect(backpressureColour(1)).toContain("hsl(0");
    expect(backpressureColour(7)).toBe(backpressureColour(1));
  });
});

describe("summarize", () => {
  const series = (values: number[]) => values.map((value, index) => ({ index, points: [{ time: 1, value: 0 }, { time: 2, value }] }));
  it("sums rates, takes the worst backpressure and the slowest watermark", () => {
    const s = summarize({
      nodeId: "n",
      groups: [
        { name: "messages_recv", subtasks: series([10, 30]) },
        { name: "messages_sent", subtasks: series([5, 5]) },
        { name: "backpressure", subtasks: series([0.2, 0.9]) },
        { name: "watermark", subtasks: series([2000, 1000]) },
      ],
    });
    expect(s.rowsInPerSec).toBe(40);
    expect(s.rowsOutPerSec).toBe(10);
    expect(s.backpressure).toBe(0.9);
    expect(s.watermark).toBe(1000);
    expect(s.subtaskWatermarks).toEqual([
      { index: 0, watermark: 2000 },
      { index: 1, watermark: 1000 },
    ]);
  });
});
