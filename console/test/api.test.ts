import { describe, expect, it } from "vitest";
import { readDiagnostic, readGraph } from "../src/api";

describe("readDiagnostic", () => {
  it("reads a span object", () => {
    expect(
      readDiagnostic({ message: "no such column", span: { start: { line: 3, column: 8 }, end: { line: 3, column: 15 } } }),
    ).toEqual({ message: "no such column", line: 3, column: 8, endLine: 3, endColumn: 15 });
  });

  it("reads flat fields", () => {
    expect(readDiagnostic({ message: "m", line: 2, column: 5 })).toEqual({
      message: "m",
      line: 2,
      column: 5,
      endLine: 2,
      endColumn: 5,
    });
  });

  it("finds the position in a plain message as sluice run prints it", () => {
    const d = readDiagnostic('line 24, column 14: column "custmer" does not exist');
    expect([d.line, d.column]).toEqual([24, 14]);
  });

  it("keeps a message without a position", () => {
    expect(readDiagnostic("boom")).toEqual({ message: "boom", line: 0, column: 0, endLine: 0, endColumn: 0 });
  });
});

describe("readGraph", () => {
  it("reads Arroyo's node and edge names", () => {
    expect(
      readGraph({
        nodes: [{ nodeId: "1", operator: "source", description: "impulse", parallelism: 2 }],
        edges: [{ srcId: "1", destId: "2", edgeType: "shuffle", valueType: "" }],
      }),
    ).toEqual({
      nodes: [{ id: "1", operator: "source", description: "impulse", parallelism: 2 }],
      edges: [{ id: "0", src: "1", dest: "2", kind: "shuffle", schema: "" }],
    });
  });

  it("reads Sluice's edgeId, the index a tap names", () => {
    const g = readGraph({
      nodes: [],
      edges: [
        { srcId: "0", destId: "1", edgeType: "hash", valueType: "", edgeId: "0" },
        { srcId: "1", destId: "2", edgeType: "hash", valueType: "", edgeId: "1" },
      ],
    });
    expect(g?.edges.map((e) => e.id)).toEqual(["0", "1"]);
  });
});
