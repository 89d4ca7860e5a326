// The catalog beside the editor: the tables the query declares (with their columns), the
// connectors a table can use (with their options) and the functions.
import { useState } from "react";
import type { Connector, FunctionInfo, TableInfo } from "../api";

function Section(props: { title: string; count: number; children: React.ReactNode; open?: boolean }) {
  const [open, setOpen] = useState(props.open ?? true);
  return (
    <section className="catalog-section">
      <h3 onClick={() => setOpen(!open)} className="clickable">
        {open ? "▾" : "▸"} {props.title} <span className="muted">({props.count})</span>
      </h3>
      {open && props.children}
    </section>
  );
}

export function Catalog(props: {
  tables: TableInfo[];
  connectors: Connector[];
  functions: FunctionInfo[];
  onInsert: (text: string) => void;
}) {
  const [expanded, setExpanded] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const fns = props.functions.filter((f) => f.name.includes(filter.toLowerCase()));
  return (
    <aside className="catalog" data-testid="catalog">
      <Section title="Tables" count={props.tables.length}>
        {props.tables.length === 0 && (
          <p className="muted small">Tables declared with CREATE TABLE in the query appear here.</p>
        )}
        <ul>
          {props.tables.map((t) => (
            <li key={t.name} data-testid={`table-${t.name}`}>
              <span className="mono strong">{t.name}</span>{" "}
              <span className="muted small">
                {t.connector}
                {t.kind ? ` · ${t.kind}` : ""}
              </span>
              <ul className="columns">
                {t.columns.map((c) => (
                  <li key={c.name} className="mono small">
                    {c.name} <span className="muted">{c.type}</span>
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      </Section>
      <Section title="Connectors" count={props.connectors.length}>
        <ul>
          {props.connectors.map((c) => (
            <li key={c.id} data-testid={`connector-${c.id}`}>
              <span className="clickable mono strong" onClick={() => setExpanded(expanded === c.id ? null : c.id)}>
                {c.name}
              </span>{" "}
              <span className="muted small">{[c.source && "source", c.sink && "sink"].filter(Boolean).join(" · ")}</span>
              {expanded === c.id && (
                <div className="connector-details small">
                  <p>{c.description}</p>
                  <ul>
                    {c.options.map((o) => (
                      <li key={o.name}>
                        <span className="mono">{o.name}</span>
                        {o.required && <span className="required"> required</span>}
                        {o.description && <span className="muted"> — {o.description}</span>}
                      </li>
                    ))}
                  </ul>
                  <button
                    className="link"
                    onClick={() =>
                      props.onInsert(
                        `CREATE TABLE my_${c.id} WITH (\n  connector = '${c.id}'${c.options
                          .filter((o) => o.required && o.name !== "connector")
                          .map((o) => `,\n  ${o.name} = ''`)
                          .join("")}\n);\n`,
                      )
                    }
                  >
                    insert CREATE TABLE
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      </Section>
      <Section title="Functions" count={props.functions.length} open={false}>
        <input placeholder="filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <ul className="functions">
          {fns.map((f) => (
            <li key={f.name + f.kind} className="mono small">
              {f.name} <span className="muted">{f.kind}</span>
            </li>
          ))}
        </ul>
      </Section>
    </aside>
  );
}
