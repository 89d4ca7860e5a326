#include "connectors/generated_source.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/text.h"

namespace sluice::connectors {

StridedGeneratorSource::StridedGeneratorSource(int subtask, int parallelism, double rate,
                                               std::optional<uint64_t> total_ids,
                                               int64_t batch_rows)
    : subtask_(static_cast<uint64_t>(subtask)),
      parallelism_(static_cast<uint64_t>(std::max(parallelism, 1))),
      rate_(rate),
      batch_rows_(std::max<int64_t>(batch_rows, 1)),
      total_(std::numeric_limits<uint64_t>::max()) {
  if (total_ids) total_ = CountBelow(*total_ids);
}

uint64_t StridedGeneratorSource::CountBelow(uint64_t n) const {
  return n > subtask_ ? (n - subtask_ + parallelism_ - 1) / parallelism_ : 0;
}

void StridedGeneratorSource::Resume(uint64_t emitted) {
  emitted_ = std::min(emitted, total_);
  resumed_at_id_ = emitted_ * parallelism_;
}

ProcessingTime StridedGeneratorSource::NextDue() const {
  double id = static_cast<double>(subtask_ + emitted_ * parallelism_ - resumed_at_id_);
  double offset = std::ceil(id * 1e6 / rate_) + 1;
  if (offset > 1e17) offset = 1e17;
  return ProcessingTime{start_.value + static_cast<int64_t>(offset)};
}

Result<runtime::SourcePoll> StridedGeneratorSource::Poll(runtime::Collector& out) {
  if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) {
    return runtime::SourcePoll::Finished();
  }
  if (emitted_ >= total_) return runtime::SourcePoll::Finished();
  const ProcessingTime now = Now();
  uint64_t due = total_;
  if (rate_ > 0) {
    if (!started_) {
      start_ = now;
      started_ = true;
    }
    // Global ids due by now: id 0 at the start, then one every 1/rate seconds.
    double elapsed = static_cast<double>(now.value - start_.value) / 1e6;
    double global = std::floor(rate_ * elapsed) + 1 + static_cast<double>(resumed_at_id_);
    due = global >= 1e19 ? total_ : std::min(total_, CountBelow(static_cast<uint64_t>(global)));
    if (due <= emitted_) return runtime::SourcePoll::WaitUntil(NextDue());
  }
  auto n =
      static_cast<int64_t>(std::min<uint64_t>(due - emitted_, static_cast<uint64_t>(batch_rows_)));
  SLUICE_ASSIGN_OR_RETURN(batch::BatchPtr batch,
                          MakeBatch(subtask_ + emitted_ * parallelism_, n, now));
  SLUICE_RETURN_NOT_OK(out.Emit(std::move(batch)));
  emitted_ += static_cast<uint64_t>(n);
  if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
  if (emitted_ >= total_) return runtime::SourcePoll::Finished();
  if (due > emitted_) return runtime::SourcePoll::More();
  return runtime::SourcePoll::WaitUntil(NextDue());
}

std::optional<uint64_t> ParseUnsignedOption(const std::string& raw) {
  std::string_view text = TrimAsciiSpace(raw);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseNumberOption(const std::string& raw) {
  const std::string text = std::string(TrimAsciiSpace(raw));
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace sluice::connectors
