// Checkpoint benchmarks (docs/performance.md, "Checkpoints").
//
// BM_PipelineTumbleCheckpoints: the whole pipeline (impulse → TUMBLE(1 minute) count/sum/max by
// 10 000 keys → blackhole, parallelism 1, through the planner and the runtime) without
// checkpoints (arg 0) and with a checkpoint every arg milliseconds into a local state dir.
//
// BM_LargeStateCheckpoint: an updating aggregate holding about 1 GB (10 M keys, count and sum),
// driven directly: the full snapshot (in the task's thread) and its write (compressed, to local
// disk, in the coordinator's thread in a run), then a delta after 1% of the keys changed, then
// the restore of that chain (read, verify, decompress, decode, rebuild the state).

#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "bench_util.h"
#include "cli/pipeline.h"
#include "exec/updating_aggregate.h"
#include "runtime/checkpoint_storage.h"
#include "runtime/checkpoint_store.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const char* name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("sluice-bench-{}-{}", name, getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void BM_PipelineTumbleCheckpoints(benchmark::State& state) {
  const int64_t interval_ms = state.range(0);
  const int64_t rows = 200'000'000;
  // 10 µs of event time per row: 100 000 rows per event-second, a window every 6 M rows.
  const std::string sql = fmt::format(R"(
    CREATE TABLE t WITH (connector = 'impulse', event_rate = '1000000000', message_count = '{}',
                         event_time_interval = '10');
    CREATE TABLE sink WITH (connector = 'blackhole');
    INSERT INTO sink
    SELECT counter % 10000 AS k, count(*) AS n, sum(counter) AS s, max(counter) AS m
    FROM t GROUP BY TUMBLE(INTERVAL '1 minute'), counter % 10000;)",
                                      rows);
  int64_t checkpoints = 0;
  double cpu_seconds = 0;  // of the whole process: every pipeline thread and the coordinator
  for (auto _ : state) {
    cli::RunOptions options;
    options.parallelism = 1;
    std::string dir;
    if (interval_ms > 0) {
      dir = TempDir("tumble");
      options.state_dir = dir;
      options.checkpoint_interval = fmt::format("{}ms", interval_ms);
    }
    cli::RunReport report;
    const double cpu_before = ProcessCpuSeconds();
    Status st = cli::RunSql(sql, options, nullptr, &report);
    cpu_seconds += ProcessCpuSeconds() - cpu_before;
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    checkpoints += report.checkpoints_completed;
    if (!dir.empty()) fs::remove_all(dir);
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["checkpoints"] =
      benchmark::Counter(static_cast<double>(checkpoints), benchmark::Counter::kAvgIterations);
  state.counters["rows_per_cpu_s"] =
      static_cast<double>(state.iterations() * rows) / std::max(cpu_seconds, 1e-9);
}
BENCHMARK(BM_PipelineTumbleCheckpoints)
    ->Arg(0)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

int64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Rows (k, v) for keys [from, to) in batches, each key once, value v.
Status Feed(runtime::Operator& op, runtime::Collector& out, int64_t from, int64_t to,
            const std::vector<int64_t>* keys, int64_t value) {
  constexpr int64_t kBatch = 65536;
  auto schema = std::make_shared<types::Schema>(
      std::vector<types::Field>{{"k", types::Int64(), true}, {"v", types::Int64(), true}});
  for (int64_t at = from; at < to; at += kBatch) {
    const int64_t n = std::min(kBatch, to - at);
    batch::ColumnBuilder k(types::Int64()), v(types::Int64()), et(types::Timestamp());
    for (int64_t i = 0; i < n; ++i) {
      k.AppendFixed<int64_t>(keys ? (*keys)[static_cast<size_t>(at + i)] : at + i);
      v.AppendFixed<int64_t>(value);
      et.AppendFixed<int64_t>(1);
    }
    auto b = std::make_shared<batch::Batch>();
    b->schema = schema;
    b->num_rows = n;
    b->columns = {k.Finish(), v.Finish()};
    b->event_time = et.Finish();
    SLUICE_RETURN_NOT_OK(op.ProcessBatch(0, b, out));
  }
  return Status::Ok();
}

void BM_LargeStateCheckpoint(benchmark::State& state) {
  const int64_t keys = state.range(0);
  auto fail = [&](const Status& st) { state.SkipWithError(st.ToString().c_str()); };
  std::vector<exec::AggregateCall> calls{bench::Call("count", {}), bench::Call("sum", {1})};
  auto out_schema = std::make_shared<types::Schema>(std::vector<types::Field>{
      {"k", types::Int64(), true}, {"n", types::Int64(), true}, {"s", types::Int64(), true}});
  exec::UpdatingAggregateFactory factory({types::Int64()}, calls, out_schema,
                                         /*flush_interval_micros=*/1'000'000'000'000, 0);
  for (auto _ : state) {
    const std::string dir = TempDir("state");
    auto storage = runtime::OpenCheckpointStorage(dir);
    if (!storage.ok()) return fail(storage.status());
    runtime::CheckpointStore store(*storage);
    runtime::OperatorContext ctx;
    ctx.checkpointing = true;
    bench::CountingCollector out;

    const int64_t rss_before = RssBytes();
    auto op = factory.Create(0, 1).MoveValue();
    if (Status st = op->Open(ctx); !st.ok()) return fail(st);
    if (Status st = Feed(*op, out, 0, keys, nullptr, 1); !st.ok()) return fail(st);
    if (Status st = op->OnEndOfInput(out); !st.ok()) return fail(st);  // emit: the usual state
    const int64_t state_bytes = RssBytes() - rss_before;

    // Checkpoint 1: full. Snapshot (task thread), then encode, compress and write (coordinator).
    std::map<int64_t, runtime::CheckpointMetadata::File> files;
    auto write = [&](int64_t id, int64_t last_completed, double* snapshot_s, double* write_s,
                     int64_t* file_bytes, int64_t* chain_from) -> Status {
      runtime::TaskState task;
      task.checkpoint = id;
      task.node = 0;
      task.subtask = 0;
      auto t0 = std::chrono::steady_clock::now();
      runtime::StateWriter w(&task.pieces, 7, last_completed, chain_from);
      SLUICE_RETURN_NOT_OK(op->Snapshot(id, w));
      *snapshot_s = Seconds(t0);
      t0 = std::chrono::steady_clock::now();
      SLUICE_ASSIGN_OR_RETURN(auto file, store.WriteStateFile(task));
      runtime::CheckpointMetadata m;
      m.checkpoint = id;
      m.fingerprint = "bench";
      m.operators = {"a", "b", "c", "d", "e", "f", "g", "updating_aggregate"};
      m.nodes = {{0, 1, {7}}};
      m.files.push_back(file);
      if (*chain_from > 0) {
        for (int64_t c = *chain_from; c < id; ++c) {
          runtime::CheckpointMetadata::File f = files.at(c);
          f.name = runtime::CheckpointStore::ListedName(id, c, f.name);
          m.files.push_back(f);
        }
      }
      files[id] = file;
      SLUICE_RETURN_NOT_OK(store.WriteMetadata(m));
      *write_s = Seconds(t0);
      *file_bytes = static_cast<int64_t>(file.size);
      return Status::Ok();
    };
    double full_snapshot = 0, full_write = 0, delta_snapshot = 0, delta_write = 0;
    int64_t full_bytes = 0, delta_bytes = 0, from1 = 0, from2 = 0;
    if (Status st = write(1, 0, &full_snapshot, &full_write, &full_bytes, &from1); !st.ok()) {
      return fail(st);
    }
    // 1% of the keys change, spread over the key space.
    std::vector<int64_t> changed(static_cast<size_t>(keys / 100));
    std::mt19937_64 rng(5);
    for (auto& k : changed) k = static_cast<int64_t>(rng() % static_cast<uint64_t>(keys));
    if (Status st = Feed(*op, out, 0, static_cast<int64_t>(changed.size()), &changed, 2);
        !st.ok()) {
      return fail(st);
    }
    if (Status st = op->OnEndOfInput(out); !st.ok()) return fail(st);
    if (Status st = write(2, 1, &delta_snapshot, &delta_write, &delta_bytes, &from2); !st.ok()) {
      return fail(st);
    }
    if (from2 != 1) return fail(Status::Internal("the second snapshot is not a delta"));
    op.reset();

    // Restore checkpoint 2: its file and the full one it extends.
    auto t0 = std::chrono::steady_clock::now();
    auto loaded = store.Load(2);
    if (!loaded.ok()) return fail(loaded.status());
    const double load_s = Seconds(t0);
    auto restored = factory.Create(0, 1).MoveValue();
    if (Status st = restored->Open(ctx); !st.ok()) return fail(st);
    std::vector<const runtime::TaskState*> previous{&loaded->states.at({0, 0})};
    std::vector<std::vector<const runtime::TaskState*>> chains(1);
    for (const auto& e : loaded->earlier.at({0, 0})) chains[0].push_back(&e);
    chains[0].push_back(previous[0]);
    runtime::StateReader reader(2, 7, 0, previous, chains);
    if (Status st = restored->Restore(reader); !st.ok()) return fail(st);
    const double restore_s = Seconds(t0);

    state.counters["state_MB"] = static_cast<double>(state_bytes) / 1e6;
    state.counters["full_snapshot_s"] = full_snapshot;
    state.counters["full_write_s"] = full_write;
    state.counters["full_file_MB"] = static_cast<double>(full_bytes) / 1e6;
    state.counters["delta_snapshot_s"] = delta_snapshot;
    state.counters["delta_write_s"] = delta_write;
    state.counters["delta_file_MB"] = static_cast<double>(delta_bytes) / 1e6;
    state.counters["restore_load_s"] = load_s;
    state.counters["restore_total_s"] = restore_s;
    restored.reset();
    fs::remove_all(dir);
  }
}
BENCHMARK(BM_LargeStateCheckpoint)
    ->Arg(5'000'000)
    ->Arg(10'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace sluice
