#include "runtime/task_scheduler.h"

#include <algorithm>
#include <chrono>

#include "common/time.h"

namespace sluice::runtime {

void Scheduler::Start(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { WorkerLoop(); });
  timer_thread_ = std::thread([this] { TimerLoop(); });
}

void Scheduler::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) return;
    shutdown_ = true;
  }
  cv_.notify_all();
  { std::lock_guard<std::mutex> lock(timer_mu_); }
  timer_cv_.notify_all();
  for (auto& t : threads_) t.join();
  if (timer_thread_.joinable()) timer_thread_.join();
}

void Scheduler::Schedule(Runnable* task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.push_back(task);
  }
  cv_.notify_one();
}

void Scheduler::ScheduleAt(Runnable* task, ProcessingTime at) {
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    timers_.push({at.value, task});
  }
  timer_cv_.notify_one();
}

void Scheduler::WorkerLoop() {
  while (true) {
    Runnable* task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return shutdown_ || !ready_.empty(); });
      if (shutdown_) return;
      task = ready_.front();
      ready_.pop_front();
    }
    task->RunFromQueue();
  }
}

void Scheduler::TimerLoop() {
  std::unique_lock<std::mutex> lock(timer_mu_);
  while (true) {
    {
      std::lock_guard<std::mutex> l2(mu_);
      if (shutdown_) return;
    }
    if (timers_.empty()) {
      timer_cv_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    int64_t now = Now().value;
    if (timers_.top().at <= now) {
      Runnable* t = timers_.top().task;
      timers_.pop();
      lock.unlock();
      t->Wake();
      lock.lock();
      continue;
    }
    timer_cv_.wait_for(
        lock, std::chrono::microseconds(std::min<int64_t>(timers_.top().at - now, 100000)));
  }
}

bool InputQueue::TryPush(int sender, Message&& message, Runnable* producer) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto* b = std::get_if<batch::BatchPtr>(&message);
    if (b != nullptr &&
        (rows_ >= capacity_rows_ || held_rows_[static_cast<size_t>(sender)] >= capacity_rows_)) {
      if (std::find(waiting_.begin(), waiting_.end(), producer) == waiting_.end()) {
        waiting_.push_back(producer);
      }
      return false;
    }
    if (b != nullptr) rows_ += (*b)->num_rows;
    was_empty = queue_.empty();
    queue_.push_back({sender, std::move(message)});
  }
  if (was_empty) consumer_->Wake();
  return true;
}

bool InputQueue::Pop(Envelope* out) {
  std::vector<Runnable*> to_wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) return false;
    *out = std::move(queue_.front());
    queue_.pop_front();
    if (const auto* b = std::get_if<batch::BatchPtr>(&out->message)) rows_ -= (*b)->num_rows;
    if (rows_ < capacity_rows_ && !waiting_.empty()) to_wake.swap(waiting_);
  }
  for (Runnable* t : to_wake) t->Wake();
  return true;
}

void InputQueue::Hold(int sender, int64_t rows) {
  std::lock_guard<std::mutex> lock(mu_);
  held_rows_[static_cast<size_t>(sender)] += rows;
}

void InputQueue::Release(const std::vector<int64_t>& rows_by_sender) {
  std::vector<Runnable*> to_wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < rows_by_sender.size(); ++i) held_rows_[i] -= rows_by_sender[i];
    to_wake.swap(waiting_);
  }
  for (Runnable* t : to_wake) t->Wake();
}

}  // namespace sluice::runtime
