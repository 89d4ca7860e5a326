// CodeMirror 6 with Sluice's SQL: highlighting, completion of the catalog's tables, columns and
// functions, and the server's diagnostics both underlined and written out under their line.
import { useEffect, useRef } from "react";
import { EditorView, basicSetup } from "codemirror";
import { Compartment, EditorState, StateEffect, StateField, type Text } from "@codemirror/state";
import { Decoration, type DecorationSet, WidgetType, keymap } from "@codemirror/view";
import { sql, PostgreSQL } from "@codemirror/lang-sql";
import { setDiagnostics, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { type Completion } from "@codemirror/autocomplete";
import type { Diagnostic, FunctionInfo, TableInfo } from "../api";

class DiagnosticWidget extends WidgetType {
  constructor(readonly message: string) {
    super();
  }
  eq(other: DiagnosticWidget): boolean {
    return other.message === this.message;
  }
  toDOM(): HTMLElement {
    const div = document.createElement("div");
    div.className = "cm-sluice-diagnostic";
    div.setAttribute("role", "alert");
    div.textContent = this.message;
    return div;
  }
}

const setLineMessages = StateEffect.define<Diagnostic[]>();

function lineWidgets(doc: Text, diagnostics: Diagnostic[]): DecorationSet {
  const widgets = diagnostics
    .map((d) => {
      const lineNo = Math.min(Math.max(d.line || 1, 1), doc.lines);
      return Decoration.widget({
        widget: new DiagnosticWidget(d.message),
        block: true,
        side: 1,
      }).range(doc.line(lineNo).to);
    })
    .sort((a, b) => a.from - b.from);
  return Decoration.set(widgets, true);
}

const lineMessages = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, tr) {
    let next = value.map(tr.changes);
    for (const e of tr.effects) {
      if (e.is(setLineMessages)) next = lineWidgets(tr.state.doc, e.value);
    }
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

// Maps a 1-based line and column to a document offset, clamped to the document.
export function offsetOf(doc: Text, line: number, column: number): number {
  const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return Math.min(l.from + Math.max(column - 1, 0), l.to);
}

function toCm(doc: Text, d: Diagnostic): CmDiagnostic {
  if (!d.line) return { from: 0, to: Math.min(doc.length, doc.line(1).to), severity: "error", message: d.message };
  const from = offsetOf(doc, d.line, d.column);
  let to = offsetOf(doc, d.endLine || d.line, d.endColumn || d.column);
  if (to <= from) {
    // No end given: underline the word at the position.
    const rest = doc.sliceString(from, doc.lineAt(from).to);
    const word = /^[\w."']+/.exec(rest);
    to = from + Math.max(word ? word[0].length : 1, 1);
    to = Math.min(to, doc.length);
  }
  return { from, to, severity: "error", message: d.message };
}

export interface SqlEditorProps {
  value: string;
  onChange: (value: string) => void;
  diagnostics: Diagnostic[];
  tables: TableInfo[];
  functions: FunctionInfo[];
  onRun?: () => void;
}

export function SqlEditor(props: SqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const onChange = useRef(props.onChange);
  const onRun = useRef(props.onRun);
  onChange.current = props.onChange;
  onRun.current = props.onRun;

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          keymap.of([
            {
              key: "Mod-Enter",
              run: () => {
                onRun.current?.();
                return true;
              },
            },
          ]),
          basicSetup,
          language.current.of(sql({ dialect: PostgreSQL })),
          lineMessages,
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
          }),
          EditorView.contentAttributes.of({ "aria-label": "SQL query" }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is created once; later values flow through the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // An outside change of the text (e.g. "load example") replaces the document.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
    }
  }, [props.value]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const doc = v.state.doc;
    v.dispatch(setDiagnostics(v.state, props.diagnostics.map((d) => toCm(doc, d))));
    v.dispatch({ effects: setLineMessages.of(props.diagnostics) });
  }, [props.diagnostics]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const schema: Record<string, string[]> = {};
    for (const t of props.tables) schema[t.name] = t.columns.map((c) => c.name);
    const fns: Completion[] = props.functions.map((f) => ({
      label: f.name,
      type: "function",
      detail: f.kind,
      apply: f.name + "(",
    }));
    const lang = sql({ dialect: PostgreSQL, schema, upperCaseKeywords: true });
    v.dispatch({
      effects: language.current.reconfigure([
        lang,
        lang.language.data.of({
          autocomplete: (ctx: import("@codemirror/autocomplete").CompletionContext) => {
            const word = ctx.matchBefore(/\w+/);
            if (!word || (word.from === word.to && !ctx.explicit)) return null;
            return { from: word.from, options: fns, validFor: /^\w*$/ };
          },
        }),
      ]),
    });
  }, [props.tables, props.functions]);

  return <div className="editor" ref={host} data-testid="sql-editor" />;
}
