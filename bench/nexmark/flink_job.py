"""Runs Nexmark queries on Apache Flink (PyFlink, local mini-cluster) for bench/nexmark/run.

Not meant to be run by hand: bench/nexmark/run starts it with the bench venv's Python
(scripts/install-bench-deps) and reads the JSON object it writes to SPEC's result_path (not
standard output: the JVM may print there).

    python flink_job.py SPEC.json

SPEC: {"input": path, "result_path": path, "events": N, "parallelism": P, "runs": R, "count": bool,
       "watermark_delay_s": D, "kafka": null or {"bootstrap": host:port, "topic": name,
       "jars": [the Kafka connector's jars]} (read the topic instead of the input file),
       "queries": {"q0": {"select": "SELECT ... FROM nexmark ...", "event_time": bool,
                          "count_mode": "batch" | "streaming"}, ...}}

The table `nexmark` is declared again for each query: with event_time, it has the computed
column ts (the datetime of the person, auction or bid) as its event time, with
WATERMARK FOR ts AS ts - D seconds, as the reference Nexmark DDL does with its dateTime column;
without, it has only the three ROW columns (so the stateless queries carry no watermark
assigner).

For each query, the SELECT runs R times into a 'blackhole' sink in one streaming
TableEnvironment, so in one JVM: the first run pays class loading, code generation and JIT
warm-up; the harness reports the last. Each run is timed from execute_insert() (planning, job
submission, scheduling included) to the end of wait(). CPU time is the JVM process's user +
system time (/proc/PID/stat: every thread, GC and JIT compiler threads included) over the run;
memory is the JVM's VmRSS after the run and VmHWM (peak RSS since JVM start). With count=true,
the output row count comes from a separate batch-mode job: SELECT COUNT(*) FROM (query) (or,
with count_mode "streaming", the same in the streaming environment: its last value).
"""

import json
import os
import sys
import time


def read_proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def read_proc_mem(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def source_ddl(path, event_time=False, watermark_delay_s=4, kafka=None):
    ts = ""
    if event_time:
        ts = f""",
  ts AS COALESCE(person.`datetime`, auction.`datetime`, bid.`datetime`),
  WATERMARK FOR ts AS ts - INTERVAL '{int(watermark_delay_s)}' SECOND"""
    if kafka:
        # Flink's Kafka SQL connector over the whole topic, bounded at its end offsets when
        # the job starts (so the same events as the file, and a job that finishes).
        connector = (f"'connector' = 'kafka',\n  'topic' = '{kafka['topic']}',\n"
                     f"  'properties.bootstrap.servers' = '{kafka['bootstrap']}',\n"
                     f"  'properties.group.id' = 'flink-nexmark',\n"
                     f"  'scan.startup.mode' = 'earliest-offset',\n"
                     f"  'scan.bounded.mode' = 'latest-offset'")
    else:
        connector = f"'connector' = 'filesystem',\n  'path' = 'file://{path}'"
    return f"""
CREATE TEMPORARY TABLE nexmark (
  person ROW<id BIGINT, name STRING, email_address STRING, credit_card STRING, city STRING,
             state STRING, `datetime` TIMESTAMP(3), extra STRING>,
  auction ROW<id BIGINT, item_name STRING, description STRING, initial_bid BIGINT,
              reserve BIGINT, `datetime` TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT,
              category BIGINT, extra STRING>,
  bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
          `datetime` TIMESTAMP(3), extra STRING>{ts}
) WITH (
  {connector},
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'false'
)"""


def jars_option(kafka):
    """pipeline.jars: the Kafka connector's jars as file URLs."""
    return ";".join("file://" + j for j in kafka["jars"])


def run_query(spec, tenv, pid, name, query, declare_source):
    from pyflink.table import EnvironmentSettings, Schema, TableDescriptor, TableEnvironment

    p = int(spec["parallelism"])
    select = query["select"]
    event_time = bool(query.get("event_time"))
    declare_source(tenv, event_time)
    runs = []
    for i in range(int(spec["runs"])):
        table = tenv.sql_query(select)
        sink = (
            TableDescriptor.for_connector("blackhole")
            .schema(Schema.new_builder().from_row_data_type(
                table.get_schema().to_row_data_type()).build())
            .build()
        )
        cpu0 = read_proc_cpu(pid)
        t0 = time.monotonic()
        table.execute_insert(sink).wait()
        wall = time.monotonic() - t0
        cpu = read_proc_cpu(pid) - cpu0
        mem = read_proc_mem(pid)
        runs.append({"run": i + 1, "wall_s": wall, "cpu_s": cpu,
                     "rss_after_bytes": mem.get("VmRSS"), "peak_rss_bytes": mem.get("VmHWM")})
        print(f"flink {name} run {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU",
              file=sys.stderr, flush=True)
    entry = {"runs": runs}
    if spec.get("count"):
        mode = query.get("count_mode", "batch")
        t0 = time.monotonic()
        if mode == "streaming":
            # For queries Flink's batch planner rejects (group SESSION windows): the count in
            # the streaming environment is an updating row; its last value is the total.
            from pyflink.common import RowKind
            declare_source(tenv, event_time)
            count = None
            with tenv.execute_sql(f"SELECT COUNT(*) FROM ({select})").collect() as rows:
                for row in rows:
                    if row.get_row_kind() in (RowKind.INSERT, RowKind.UPDATE_AFTER):
                        count = int(row[0])
            entry["output_rows"] = count
        else:
            btenv = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
            btenv.get_config().set("parallelism.default", str(p))
            if spec.get("kafka"):
                btenv.get_config().set("pipeline.jars", jars_option(spec["kafka"]))
            declare_source(btenv, event_time)
            with btenv.execute_sql(f"SELECT COUNT(*) FROM ({select})").collect() as rows:
                entry["output_rows"] = int(list(rows)[-1][0])
        entry["count_mode"] = mode
        entry["count_wall_s"] = time.monotonic() - t0
        print(f"flink {name}: {entry['output_rows']} rows ({mode} COUNT(*))",
              file=sys.stderr, flush=True)
    return entry


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    from importlib.metadata import version

    from pyflink.java_gateway import get_gateway
    from pyflink.table import EnvironmentSettings, TableEnvironment

    p = int(spec["parallelism"])
    t_start = time.monotonic()
    settings = EnvironmentSettings.in_streaming_mode()
    tenv = TableEnvironment.create(settings)
    conf = tenv.get_config()
    conf.set("parallelism.default", str(p))
    conf.set("table.exec.resource.default-parallelism", str(p))
    kafka = spec.get("kafka")
    if kafka:
        conf.set("pipeline.jars", jars_option(kafka))
    jvm = get_gateway().jvm
    pid = int(jvm.java.lang.ProcessHandle.current().pid())
    startup_s = time.monotonic() - t_start
    delay = spec.get("watermark_delay_s", 4)

    def declare_source(env, event_time):
        env.execute_sql("DROP TEMPORARY TABLE IF EXISTS nexmark")
        env.execute_sql(source_ddl(spec["input"], event_time, delay, kafka))

    result = {
        "flink_version": version("apache-flink"),
        "java_version": str(jvm.java.lang.System.getProperty("java.version")),
        "java_vm": str(jvm.java.lang.System.getProperty("java.vm.name")),
        "jvm_max_heap_bytes": int(jvm.java.lang.Runtime.getRuntime().maxMemory()),
        "jvm_pid": pid,
        "jvm_startup_s": startup_s,
        "configuration": {
            "mode": "streaming TableEnvironment, local mini-cluster (PyFlink's embedded JVM)",
            "parallelism.default": p,
            "table.exec.resource.default-parallelism": p,
            "source": ("Kafka connector (flink-connector-kafka on pipeline.jars), "
                       "earliest-offset to latest-offset" if kafka else "filesystem connector")
            + ", format json, json.timestamp-format.standard=ISO-8601",
            "event_time": f"queries with event time: ts AS COALESCE(person.datetime, "
                          f"auction.datetime, bid.datetime), WATERMARK FOR ts AS ts - "
                          f"INTERVAL '{delay}' SECOND",
            "sink": "blackhole connector",
            "other": "Flink defaults (no checkpointing, default JVM heap and managed memory)",
        },
        "queries": {},
    }

    for name, query in spec["queries"].items():
        try:
            result["queries"][name] = run_query(spec, tenv, pid, name, query, declare_source)
        except Exception as e:  # noqa: BLE001 - a query Flink rejects must not stop the others
            msg = str(e).strip()
            print(f"flink {name} failed: {msg.splitlines()[0] if msg else type(e).__name__}",
                  file=sys.stderr, flush=True)
            result["queries"][name] = {"error": msg or type(e).__name__}

    with open(spec["result_path"], "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
