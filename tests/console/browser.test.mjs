// The web console in a real browser (Debian's Chromium, driven by playwright-core) against the
// real `sluice serve`: write a query, see a diagnostic under the line, preview rows, start a
// pipeline, see its graph and metrics change, tap an edge, stop it, restart it.
//
//   node --test tests/console/browser.test.mjs
//   env: SLUICE_BIN (the sluice binary), SLUICE_CONSOLE_DIR (console/, for playwright-core),
//        SLUICE_ARTIFACTS (where screenshots and the server log go), SLUICE_CHROMIUM
//        (default /usr/bin/chromium)
//
// Any request to a host other than the server under test fails the test (the console must work
// offline), and so does any console error or uncaught exception in the page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const bin = process.env.SLUICE_BIN;
const consoleDir = process.env.SLUICE_CONSOLE_DIR;
assert.ok(bin && consoleDir, "set SLUICE_BIN and SLUICE_CONSOLE_DIR");
const artifacts = process.env.SLUICE_ARTIFACTS ?? fs.mkdtempSync(path.join(os.tmpdir(), "console-artifacts-"));
fs.mkdirSync(artifacts, { recursive: true });
const { chromium } = createRequire(path.join(consoleDir, "package.json"))("playwright-core");

const work = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-console-"));
let server;
let baseUrl;
let browser;
let page;
const problems = []; // console errors, page errors and foreign requests

async function startServer() {
  const log = fs.openSync(path.join(artifacts, "serve.log"), "w");
  const portFile = path.join(work, "port");
  server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", work, "--port-file", portFile], {
    stdio: ["ignore", log, log],
  });
  let exited = null;
  server.on("exit", (code) => (exited = code));
  for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) {
    if (exited !== null) throw new Error(`sluice serve exited with ${exited}; see ${artifacts}/serve.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const port = fs.readFileSync(portFile, "utf8").trim();
  assert.match(port, /^\d+$/, "sluice serve wrote no port in 20 s");
  baseUrl = `http://127.0.0.1:${port}`;
}

async function api(method, route, body) {
  const res = await fetch(baseUrl + "/api/v1" + route, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function shot(name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

before(async () => {
  await startServer();
  browser = await chromium.launch({
    executablePath: process.env.SLUICE_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const allowed = new URL(baseUrl).host;
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.host === allowed) return route.continue();
    problems.push(`request to another host: ${url.href}`);
    return route.abort();
  });
  page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => {
      const t = setTimeout(() => {
        server.kill("SIGKILL");
        r();
      }, 10000);
      server.on("exit", () => {
        clearTimeout(t);
        r();
      });
    });
  }
  fs.rmSync(work, { recursive: true, force: true });
});

// Replaces the editor's text by typing it, as a user would.
async function typeQuery(text) {
  const editor = page.locator(".cm-content");
  await editor.click();
  await page.keyboard.press("Control+a");
  await page.keyboard.press("Delete");
  // CodeMirror auto-indents and closes brackets; insertText types the text verbatim.
  await page.keyboard.insertText(text);
}

const BAD = `CREATE TABLE ticks WITH (
  connector = 'impulse',
  event_rate = '50'
);

SELECT counter, countr % 3 AS bucket
FROM ticks;
`;

const GOOD = `CREATE TABLE ticks WITH (
  connector = 'impulse',
  event_rate = '50'
);

SELECT counter, counter % 3 AS bucket
FROM ticks
WHERE counter % 5 <> 4;
`;

test("the console is served at / with its assets, and nothing from another host", async () => {
  const res = await fetch(baseUrl + "/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/html/);
  await page.goto(baseUrl + "/");
  await page.getByRole("heading", { name: "Pipelines" }).waitFor();
  await shot("01-pipelines-empty");
});

test("a misspelt column gets a diagnostic under its line", async () => {
  await page.goto(baseUrl + "/#/new");
  await typeQuery(BAD);
  const diag = page.locator(".cm-sluice-diagnostic");
  await diag.first().waitFor({ timeout: 10000 });
  assert.match(await diag.first().textContent(), /countr/);
  // The message is a block right below line 6, the line of `countr`.
  const lines = page.locator(".cm-line");
  const line6 = await lines.nth(5).boundingBox();
  const box = await diag.first().boundingBox();
  assert.ok(box.y >= line6.y + line6.height - 1 && box.y < line6.y + 2 * line6.height + 4, `diagnostic at y=${box.y}, line 6 at y=${line6.y}`);
  // ... the word is underlined, and Preview and Start are disabled.
  assert.ok((await page.locator(".cm-lintRange-error").count()) >= 1);
  assert.equal(await page.getByTestId("preview").isDisabled(), true);
  assert.equal(await page.getByTestId("start-pipeline").isDisabled(), true);
  await shot("02-diagnostic");
});

test("the fixed query validates, lists its table, and previews rows", async () => {
  await typeQuery(GOOD);
  await page.getByTestId("validation-status").filter({ hasText: "Valid" }).waitFor({ timeout: 10000 });
  assert.equal(await page.locator(".cm-sluice-diagnostic").count(), 0);
  await page.getByTestId("table-ticks").waitFor();
  assert.match(await page.getByTestId("table-ticks").textContent(), /counter/);
  await page.getByTestId("preview").click();
  const rows = page.locator('[data-testid="preview-rows"] tbody tr');
  await rows.nth(9).waitFor({ timeout: 20000 });
  const headers = await page.locator('[data-testid="preview-rows"] th').allTextContents();
  assert.deepEqual(headers, ["counter", "bucket"]);
  // The rows are the query's: bucket = counter % 3, and no counter % 5 = 4.
  const cells = await page.locator('[data-testid="preview-rows"] tbody tr').evaluateAll((trs) =>
    trs.slice(0, 20).map((tr) => [...tr.querySelectorAll("td")].map((td) => Number(td.textContent))),
  );
  for (const [counter, bucket] of cells) {
    assert.equal(bucket, counter % 3);
    assert.notEqual(counter % 5, 4);
  }
  await shot("03-preview");
  await page.getByTestId("stop-preview").click();
});

// An updating aggregate: its rows are shuffled by key, so the graph has two nodes and an edge.
const AGG = `CREATE TABLE ticks WITH (
  connector = 'impulse',
  event_rate = '50'
);

SELECT counter % 3 AS bucket, count(*) AS n
FROM ticks
GROUP BY counter % 3;
`;

let pipelineId;

test("start a query as a pipeline; its page shows the graph and changing metrics", async () => {
  await page.getByTestId("parallelism").fill("2");
  await typeQuery(AGG);
  // The graph planned at parallelism 2 is shown before starting: the aggregate is its own node.
  await page.getByTestId("dataflow-graph").locator("g[data-testid='edge-0->1']").waitFor({ timeout: 10000 });
  assert.match(await page.getByTestId("validation-status").textContent(), /Valid/);
  await page.getByTestId("pipeline-name").fill("ticks-by-bucket");
  await page.getByTestId("start-pipeline").click();
  await page.waitForURL(/#\/pipelines\/[^/]+$/, { timeout: 10000 });
  pipelineId = decodeURIComponent(new URL(page.url()).hash.replace("#/pipelines/", ""));
  assert.equal(await page.getByTestId("pipeline-title").textContent(), "ticks-by-bucket");
  await page.getByTestId("pipeline-state").filter({ hasText: /running/i }).waitFor({ timeout: 20000 });
  const graph = page.getByTestId("dataflow-graph");
  await graph.waitFor();
  const p = await api("GET", `/pipelines/${pipelineId}`);
  const nodes = p.graph.nodes.length;
  assert.equal(nodes, 2, "source chain and aggregate");
  assert.equal(p.parallelism, 2);
  assert.equal(await graph.locator("g[data-testid^='node-']").count(), nodes);
  assert.equal(await graph.locator("g[data-testid^='edge-']").count(), p.graph.edges.length);

  // The source's rate shows up and the live rows of the sink arrive.
  const sourceRow = page.locator('[data-testid^="operator-"]').first();
  await page.waitForFunction(
    () => {
      const cell = document.querySelector('[data-testid^="operator-"] [data-testid="rows-out"]');
      return cell && /^[1-9]/.test(cell.textContent ?? "");
    },
    null,
    { timeout: 20000 },
  );
  assert.ok(await sourceRow.isVisible());
  await page.locator('[data-testid="output-rows"] tbody tr').nth(4).waitFor({ timeout: 20000 });
  const before = await page.getByTestId("output-status").textContent();
  await page.waitForTimeout(2500);
  const later = await page.getByTestId("output-status").textContent();
  const count = (s) => Number(/(\d+) rows/.exec(s)[1]);
  assert.ok(count(later) > count(before), `output grew: ${before} → ${later}`);
  await shot("04-pipeline-running");
});

test("tap an edge of the running pipeline: the rows crossing it show", async () => {
  await page.getByTestId("dataflow-graph").locator("g[data-testid='edge-0->1']").click();
  await page.getByTestId("tap").waitFor({ timeout: 10000 });
  await page.locator('[data-testid="tap-rows"] tbody tr').first().waitFor({ timeout: 20000 });
  assert.match(await page.getByTestId("tap-status").textContent(), /[1-9]\d* rows/);
  // The edge into the aggregate carries its grouping key (counter % 3, named __c0 by the planner).
  assert.match(await page.getByTestId("tap-rows").textContent(), /__c0/);
  await shot("04b-tap");
  await page.getByTestId("tap-close").click();
  await page.getByTestId("tap").waitFor({ state: "detached", timeout: 10000 });
});

test("checkpoints are listed with sizes", async () => {
  await page.getByTestId("tab-checkpoints").click();
  await page.locator('[data-testid="checkpoints"] tbody tr').first().waitFor({ timeout: 30000 });
  await shot("05-checkpoints");
  await page.getByTestId("tab-output").click();
});

test("stop the pipeline, then start it again", async () => {
  await page.getByTestId("stop").click();
  await page.getByTestId("pipeline-state").filter({ hasText: /stopped/i }).waitFor({ timeout: 30000 });
  await page.getByTestId("start").waitFor();
  await shot("06-stopped");
  await page.getByTestId("start").click();
  await page.getByTestId("pipeline-state").filter({ hasText: /running/i }).waitFor({ timeout: 30000 });
  await page.getByTestId("stop-immediate").click();
  await page.getByTestId("pipeline-state").filter({ hasText: /stopped|failed/i }).waitFor({ timeout: 30000 });
  await page.goto(baseUrl + "/#/pipelines");
  await page.getByTestId("pipelines").getByText("ticks-by-bucket").waitFor();
  await shot("07-list");
});

test("edit the stopped pipeline's query: unchanged operators keep their state, a changed grouping asks first", async () => {
  await page.goto(baseUrl + "/#/pipelines/" + encodeURIComponent(pipelineId));
  await page.getByTestId("start").waitFor({ timeout: 20000 });
  // A column computed after the aggregate: the aggregate keeps its counts.
  await page.getByTestId("tab-query").click();
  await page.getByTestId("edit-query").click();
  const withColumn = AGG.replace("count(*) AS n", "count(*) AS n, count(*) * 10 AS n10");
  await page.getByTestId("query-draft").fill(withColumn);
  await shot("08-edit-query");
  await page.getByTestId("save-query").click();
  await page.getByTestId("query").filter({ hasText: "n10" }).waitFor({ timeout: 10000 });
  await page.getByTestId("start").click();
  await page.getByTestId("pipeline-state").filter({ hasText: /running/i }).waitFor({ timeout: 30000 });
  const p = await api("GET", `/pipelines/${pipelineId}`);
  const logged = async (re) => {
    for (let i = 0; i < 100; i++) {
      const logs = await api("GET", `/pipelines/${pipelineId}/jobs/${p.jobId}/errors?level=all`);
      if (logs.data.some((m) => re.test(m.message))) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  };
  assert.ok(await logged(/earlier version of the query: \d+ of \d+ operators keep their state; new, starting empty: project/),
    "the job's log says which operators kept their state");
  await page.getByTestId("tab-output").click();
  // Changelog rows: the new column shows in their "after" image.
  await page.getByTestId("output-rows").filter({ hasText: '"n10"' }).waitFor({ timeout: 20000 });
  await page.getByTestId("stop").click();
  await page.getByTestId("pipeline-state").filter({ hasText: /stopped/i }).waitFor({ timeout: 30000 });
  // Another grouping: the aggregate's counts have no place in it; the start says so, and offers
  // to drop them.
  await page.getByTestId("tab-query").click();
  await page.getByTestId("edit-query").click();
  await page.getByTestId("query-draft").fill(withColumn.replaceAll("counter % 3", "counter % 4"));
  await page.getByTestId("save-query").click();
  await page.getByTestId("query").filter({ hasText: "counter % 4" }).waitFor({ timeout: 10000 });
  const before = problems.length;
  await page.getByTestId("start").click();
  const refusal = page.getByTestId("action-error");
  await refusal.filter({ hasText: "409" }).waitFor({ timeout: 10000 });
  assert.match(await refusal.textContent(), /'updating_aggregate keys 1 aggregates \[count\(\*\)\][^']*' is unchanged but its input changed/);
  await shot("09-edit-refused");
  // The browser logs the refused request as a console error: that one is expected.
  const expected = problems.splice(before).filter((m) => !/status of 409/.test(m));
  problems.push(...expected);
  await page.getByTestId("start-drop-state").click();
  await page.getByTestId("pipeline-state").filter({ hasText: /running/i }).waitFor({ timeout: 30000 });
  assert.ok(await logged(/state dropped \(allowNonRestoredState\): 'updating_aggregate/),
    "the job's log says the aggregate's state was dropped");
  await page.getByTestId("stop-immediate").click();
  await page.getByTestId("pipeline-state").filter({ hasText: /stopped|failed/i }).waitFor({ timeout: 30000 });
});

test("no console error and no request to another host", () => {
  assert.deepEqual(problems, []);
});
