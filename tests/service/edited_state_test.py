"""Editing a stopped pipeline's SQL keeps the state of the operators that did not change
(docs/api.md, "Editing a stopped pipeline"; decision 0026).

A finite file-to-file pipeline counts rows per key in one-minute tumbling windows (6000 rows, one
per second, three keys; slowed so a run lasts a few seconds, checkpoints every 100 ms). It is
stopped with a checkpoint half way, then:
- its SQL is edited to add a column computed after the aggregate: the start keeps the counts,
  the source resumes where it stopped, and the whole output holds every window exactly once
  with the count an uninterrupted run gives (expected rows computed here by hand from the
  generated input); the rows written after the edit carry the new column;
- in a second pipeline the window size is edited: the start is refused with 409 naming the
  window aggregate and what changed; a restart with allowNonRestoredState starts that operator
  empty (the job's log says so) while the source keeps its position, so the first windows of the
  new run count only the rows read after the stop, and the later ones are complete.

Usage: edited_state_test.py path/to/sluice [--postgres]

With --postgres the metadata store is a new database on the shared test PostgreSQL server
(SLUICE_POSTGRES_DIR) instead of the embedded SQLite."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Suite, postgres_url  # noqa: E402

s = Suite("service_edited_state")
extra = ["--db", postgres_url(s.name)] if "--postgres" in sys.argv else []
# 40 ms per batch of 50 rows at the watermark: a run of 6000 rows lasts about 5 s.
srv = s.server(extra_args=extra, env={"SLUICE_FAULT": "slow:watermark:40000"})
srv.start()

N = 6000
KEYS = ["a", "b", "c"]
src = os.path.join(s.work, "clicks.json")
with open(src, "w") as f:
    for i in range(N):
        f.write(json.dumps({"ts": "2023-01-01T%02d:%02d:%02d" % (i // 3600, i // 60 % 60, i % 60),
                            "k": KEYS[i % 3]}) + "\n")


def minute(i):
    return "2023-01-01T%02d:%02d:00" % (i // 3600, i // 60 % 60)


# By hand: every minute holds 60 rows, 20 per key.
expected_1m = {(minute(m * 60), k): 20 for m in range(N // 60) for k in KEYS}


def query(out, window="1 minute", extra_column=""):
    return ("SET batch_size = 50;\n"
            "CREATE TABLE clicks (ts TIMESTAMP, k TEXT, WATERMARK FOR ts AS ts - INTERVAL "
            "'1 second') WITH (connector = 'single_file', path = '%s', format = 'json', "
            "type = 'source');\n"
            "CREATE TABLE out WITH (connector = 'single_file', path = '%s', format = 'json', "
            "type = 'sink');\n"
            "INSERT INTO out SELECT window.start AS minute, k, \"count(*)\" AS n%s\n"
            "FROM (SELECT TUMBLE(INTERVAL '%s') AS window, k, count(*) FROM clicks "
            "GROUP BY window, k);" % (src, out, extra_column, window))


def job_state(pid):
    st, body = srv.api("GET", "/pipelines/%s/jobs" % pid)
    return body["data"][0]["state"] if st == 200 and body["data"] else None


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def logs(pid, job):
    st, body = srv.api("GET", "/pipelines/%s/jobs/%s/errors?level=all" % (pid, job))
    return [m["message"] for m in body["data"]] if st == 200 else []


def run_and_stop_half_way(name, out):
    """Creates the pipeline, waits for some committed windows, stops it with a checkpoint."""
    st, p = srv.api("POST", "/pipelines", {"name": name, "query": query(out),
                                           "checkpointIntervalMicros": 100000})
    s.check("%s: created" % name, st == 200, p)
    s.wait_for("%s: some windows committed" % name, lambda: len(rows(out)) >= 6)
    st, body = srv.api("PATCH", "/pipelines/" + p["id"], {"stop": "checkpoint"})
    s.check("%s: stop with a checkpoint: 200" % name, st == 200, body)
    s.wait_for("%s: stopped" % name, lambda: job_state(p["id"]) == "Stopped")
    before = rows(out)
    s.check("%s: stopped half way (%d of %d windows written)" % (name, len(before),
                                                               len(expected_1m)),
            0 < len(before) < len(expected_1m) - 3, len(before))
    return p["id"], p["jobId"], before


# --- an edit after the aggregate keeps the counts ---
out1 = os.path.join(s.work, "out1.json")
pid, job, before = run_and_stop_half_way("projection edit", out1)
edited = query(out1, extra_column=", \"count(*)\" * 10 AS n10")
st, body = srv.api("PATCH", "/pipelines/" + pid, {"query": edited})
s.check("edit the query of the stopped pipeline: 200", st == 200 and body["query"] == edited, body)
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "none"})
s.check("start the edited pipeline over its state: 200", st == 200, body)
s.wait_for("the edited pipeline finishes", lambda: job_state(pid) == "Finished", timeout=90)
after = rows(out1)
got = {}
for r in after:
    key = (r["minute"], r["k"])
    got[key] = got.get(key, []) + [r["n"]]
s.check("every window exactly once with its full count, as an uninterrupted run",
        {k: v[0] for k, v in got.items()} == expected_1m and all(len(v) == 1 for v in got.values()),
        sorted((k, v, expected_1m.get(k)) for k, v in got.items()
               if v != [expected_1m.get(k)])[:10])
new_rows = after[len(before):]
s.check("the rows before the stop are kept as written", after[:len(before)] == before,
        (before[:3], after[:3]))
s.check("the rows after the edit carry the new column, computed from the restored counts",
        new_rows and all(r.get("n10") == r["n"] * 10 for r in new_rows), new_rows[:3])
msgs = logs(pid, job)
s.check("the job's log says which operators kept their state",
        any("was written by an earlier version of the query: 5 of 6 operators keep their state"
            in m for m in msgs), msgs)

# --- an edit of the window size: refused, then dropped on request ---
out2 = os.path.join(s.work, "out2.json")
pid, job, before = run_and_stop_half_way("window edit", out2)
resized = query(out2, window="2 minute")
st, body = srv.api("PATCH", "/pipelines/" + pid, {"query": resized})
s.check("edit the window size: 200", st == 200, body)
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "none"})
err = body.get("error", "")
s.check("starting it over the old state: 409 naming the window aggregate and what changed",
        st == 409 and "'window_aggregate tumble(00:01:00) keys 1 aggregates [count(*)]' changed: "
        "it is now 'window_aggregate tumble(00:02:00) keys 1 aggregates [count(*)]'" in err and
        "allowNonRestoredState" in err and "ignoreState" in err, body)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {})
s.check("restart over the old state: 409 too", st == 409 and "window_aggregate" in
        body.get("error", ""), body)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {"allowNonRestoredState": "yes"})
s.check("allowNonRestoredState must be a boolean: 400", st == 400, body)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {"allowNonRestoredState": True})
s.check("restart dropping the aggregate's state: 200", st == 200, body)
s.wait_for("the resized pipeline finishes", lambda: job_state(pid) == "Finished", timeout=90)
msgs = logs(pid, job)
s.check("the job's log says the aggregate's state was dropped",
        any("state dropped (allowNonRestoredState): 'window_aggregate tumble(00:01:00)" in m
            for m in msgs), msgs)
after = rows(out2)
new_rows = after[len(before):]
s.check("the rows before the stop are kept", after[:len(before)] == before)
# The source kept its position: the new run reads only the rows after the stop. Its windows
# are two minutes long; the one in progress at the stop counts only what was read after it
# (all of it when the stop fell on a window's start), every later one is complete (40 per key)
# up to the end of the input. Rereading from the start would emit windows from 00:00 again.
two_min = {(r["minute"], r["k"]): r["n"] for r in new_rows}
last_before = max(r["minute"] for r in before)
last_minute = int(last_before[14:16]) + 60 * int(last_before[11:13])
first = minute((last_minute - last_minute % 2) * 60)
full = {(minute(m * 120), k): 40 for m in range(N // 120) for k in KEYS}
s.check("the new run starts at the window in progress at the stop (%s), not at the input's "
        "start" % first, two_min and min(k[0] for k in two_min) >= first,
        sorted(two_min.items())[:6])
s.check("the window in progress at the stop counts at most its rows; the later ones are "
        "complete, to the end of the input",
        set(two_min) == {k for k in full if k[0] >= min(m for m, _ in two_min)} and
        all(n == 40 if m != min(mm for mm, _ in two_min) else 0 < n <= 40
            for (m, _), n in two_min.items()), sorted(two_min.items())[:6])

rc = srv.stop()
s.check("SIGINT stops the service with exit 0", rc == 0, srv.log()[-2000:])
s.finish()
