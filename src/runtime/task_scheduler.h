// The executor's task scheduling (runtime/executor.cc): worker threads with a ready queue and a
// timer heap, and the bounded input queue of each task. Internal to the executor.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "common/time.h"
#include "runtime/message.h"

namespace sluice::runtime {

// What the scheduler runs and wakes: one task of the executor.
class Runnable {
 public:
  // Runs the task's next step (called by a worker thread).
  virtual void RunFromQueue() = 0;
  // Makes the task runnable (queued, or run again after its current step).
  virtual void Wake() = 0;

 protected:
  ~Runnable() = default;
};

// Worker threads plus a ready queue and a timer heap. A task is in the ready queue at most
// once; Wake() on a running task makes it run again right after its current step.
class Scheduler {
 public:
  void Start(int threads);
  void Shutdown();
  void Schedule(Runnable* task);
  void ScheduleAt(Runnable* task, ProcessingTime at);

 private:
  void WorkerLoop();
  void TimerLoop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Runnable*> ready_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;

  struct Timer {
    int64_t at;
    Runnable* task;
    bool operator>(const Timer& o) const { return at > o.at; }
  };
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::thread timer_thread_;
};

// A bounded multi-producer, single-consumer queue of messages into one task. Each producer
// (upstream task, edge) has a sender index so the consumer can track watermarks and ends per
// input.
class InputQueue {
 public:
  struct Envelope {
    int sender;
    Message message;
  };

  InputQueue(Runnable* consumer, int64_t capacity_rows)
      : consumer_(consumer), capacity_rows_(capacity_rows) {}

  int AddSender(int logical_input) {
    sender_inputs_.push_back(logical_input);
    held_rows_.push_back(0);
    return static_cast<int>(sender_inputs_.size()) - 1;
  }
  int num_senders() const { return static_cast<int>(sender_inputs_.size()); }
  int logical_input(int sender) const { return sender_inputs_[static_cast<size_t>(sender)]; }

  // False when full: `producer` is woken once there is room.
  bool TryPush(int sender, Message&& message, Runnable* producer);
  bool Pop(Envelope* out);
  // Barrier alignment: the consumer holds back rows of `sender` it popped. Held rows count
  // against that sender alone, so a sender whose barrier is still awaited is never blocked by
  // the rows held back from the others (no deadlock), and memory stays bounded.
  void Hold(int sender, int64_t rows);
  void Release(const std::vector<int64_t>& rows_by_sender);

 private:
  Runnable* consumer_;
  int64_t capacity_rows_;
  std::vector<int> sender_inputs_;
  std::mutex mu_;
  std::deque<Envelope> queue_;
  int64_t rows_ = 0;
  std::vector<int64_t> held_rows_;  // by sender
  std::vector<Runnable*> waiting_;
};

}  // namespace sluice::runtime
