#include "runtime/edge_tap.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace sluice::runtime {

namespace {

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

uint64_t EdgeTap::Attach(Consumer consumer) {
  std::lock_guard<std::mutex> lock(mu_);
  consumer_ = std::move(consumer);
  ++attachment_;
  tokens_ = static_cast<double>(rows_per_second_);
  refilled_at_ = SteadyMicros();
  active_.store(true, std::memory_order_relaxed);
  return attachment_;
}

void EdgeTap::Detach(uint64_t attachment) {
  std::lock_guard<std::mutex> lock(mu_);
  if (attachment != attachment_) return;
  active_.store(false, std::memory_order_relaxed);
  consumer_ = nullptr;
}

void EdgeTap::Offer(const batch::BatchPtr& b, int subtask) {
  if (b == nullptr || b->num_rows == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!consumer_) return;
  const int64_t now = SteadyMicros();
  tokens_ = std::min(static_cast<double>(rows_per_second_),
                     tokens_ + static_cast<double>(now - refilled_at_) * 1e-6 *
                                   static_cast<double>(rows_per_second_));
  refilled_at_ = now;
  const int64_t take = std::min<int64_t>(b->num_rows, static_cast<int64_t>(tokens_));
  if (take <= 0) return;
  tokens_ -= static_cast<double>(take);
  if (take == b->num_rows) {
    consumer_(b, subtask);
    return;
  }
  // `take` rows spread over the batch: row i * n / take for i < take.
  std::vector<int32_t> rows(static_cast<size_t>(take));
  for (int64_t i = 0; i < take; ++i) {
    rows[static_cast<size_t>(i)] = static_cast<int32_t>(i * b->num_rows / take);
  }
  consumer_(b->Select(rows), subtask);
}

}  // namespace sluice::runtime
