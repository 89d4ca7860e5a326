// Whole-pipeline benchmark: impulse → filter/project → blackhole, through the planner and the
// runtime, at parallelism 1 (one source subtask, one chained task). Reports rows per second.

#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "cli/pipeline.h"

namespace sluice {
namespace {

void BM_PipelineImpulseFilterProject(benchmark::State& state) {
  const int64_t rows = state.range(0);
  std::string sql = fmt::format(R"(
    CREATE TABLE t WITH (connector = 'impulse', event_rate = '1000000000', message_count = '{}');
    CREATE TABLE sink WITH (connector = 'blackhole');
    INSERT INTO sink
    SELECT counter, counter * 2 AS doubled, subtask_index
    FROM t WHERE counter % 4 <> 0;)",
                                rows);
  cli::RunOptions options;
  options.parallelism = 1;
  for (auto _ : state) {
    cli::RunReport report;
    Status st = cli::RunSql(sql, options, nullptr, &report);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_PipelineImpulseFilterProject)
    ->Arg(20'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace sluice
