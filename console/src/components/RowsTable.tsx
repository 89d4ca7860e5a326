// Rows as they arrive (newest first), with the columns of the first rows seen.
export type Row = Record<string, unknown>;

function cell(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function RowsTable(props: { rows: Row[]; testId: string }) {
  const columns: string[] = [];
  for (const r of props.rows.slice(0, 50)) {
    for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  }
  if (props.rows.length === 0) return <p className="muted">No rows yet.</p>;
  return (
    <div className="rows-scroll">
      <table className="rows" data-testid={props.testId}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r, i) => (
            <tr key={i}>
              {columns.map((c) => (
                <td key={c} className={r[c] === null ? "muted" : ""}>
                  {cell(r[c])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
