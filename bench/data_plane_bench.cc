// Data plane benchmarks (docs/performance.md, "Data plane").
//
// BM_DataPlaneLoopback: one sender thread sends batches of 4096 rows (a BIGINT and a 24-byte
// TEXT column, plus the hidden event time) over `channels` logical channels of one loopback TCP
// connection; one consumer thread pops every channel in turn. Everything a worker pays is in:
// serializing each batch, the frame checksum, the socket, decoding and validating the batch,
// and the credit frames back. Counters: payload bytes per second of wall time, and per second of
// CPU time of the process (all threads): the "per core" figure.

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <thread>

#include "batch/column_builder.h"
#include "dist/data_plane.h"

namespace sluice {
namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

batch::BatchPtr Batch4096() {
  batch::ColumnBuilder ib(types::Int64()), sb(types::Utf8()), tb(types::Timestamp());
  for (int64_t i = 0; i < 4096; ++i) {
    ib.AppendFixed<int64_t>(i * 7919);
    sb.AppendString("customer-000000000000" + std::to_string(i % 1000));
    tb.AppendFixed<int64_t>(1'700'000'000'000'000 + i);
  }
  auto b = std::make_shared<batch::Batch>();
  b->schema = std::make_shared<types::Schema>(
      std::vector<types::Field>{{"id", types::Int64(), true}, {"name", types::Utf8(), true}});
  b->columns = {ib.Finish(), sb.Finish()};
  b->event_time = tb.Finish();
  b->num_rows = 4096;
  return b;
}

void BM_DataPlaneLoopback(benchmark::State& state) {
  const int channels = static_cast<int>(state.range(0));
  constexpr int kBatchesPerIteration = 2000;
  dist::DataPlaneReceiver::Options options;
  options.job = "bench";
  options.generation = 1;
  options.worker = 1;
  auto receiver = dist::DataPlaneReceiver::Listen("127.0.0.1", 0, options);
  if (!receiver.ok()) {
    state.SkipWithError(receiver.status().ToString().c_str());
    return;
  }
  auto sender =
      dist::DataPlaneSender::Connect("127.0.0.1", (*receiver)->port(),
                                     dist::Handshake{"bench", 1, 0, 1}, std::chrono::seconds(10));
  if (!sender.ok()) {
    state.SkipWithError(sender.status().ToString().c_str());
    return;
  }
  std::vector<std::shared_ptr<dist::OutboundChannel>> out;
  std::vector<std::shared_ptr<dist::InboundChannel>> in;
  for (int c = 0; c < channels; ++c) {
    dist::ChannelId id{0, c, 1, c, 0};
    out.push_back((*sender)->Channel(id));
    in.push_back((*receiver)->Channel(id));
  }
  batch::BatchPtr batch = Batch4096();
  double cpu = 0, wall = 0;
  int64_t sent_before = (*sender)->bytes_sent();
  for (auto _ : state) {
    double cpu0 = CpuSeconds();
    auto t0 = std::chrono::steady_clock::now();
    std::thread producer([&] {
      for (int i = 0; i < kBatchesPerIteration; ++i) {
        if (!out[static_cast<size_t>(i % channels)]->Send(batch).ok()) return;
      }
    });
    for (int i = 0; i < kBatchesPerIteration; ++i) {
      auto m = in[static_cast<size_t>(i % channels)]->Pop(std::chrono::seconds(60));
      if (!m.ok() || !m->has_value()) {
        state.SkipWithError("a batch did not arrive");
        break;
      }
      benchmark::DoNotOptimize(*m);
    }
    producer.join();
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu += CpuSeconds() - cpu0;
  }
  double bytes = static_cast<double>((*sender)->bytes_sent() - sent_before);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["payload_MB_per_s"] = bytes / wall / 1e6;
  state.counters["payload_MB_per_cpu_s"] = bytes / cpu / 1e6;
  state.counters["cores_used"] = cpu / wall;
  (*sender)->Close();
  (*receiver)->Stop();
}
BENCHMARK(BM_DataPlaneLoopback)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sluice
