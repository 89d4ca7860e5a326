// The operator's own overhead for the async UDF benchmark (bench/async_udf/run_delayed): each call
// completes after 10 ms from a timer thread in the function, with no network in between.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
struct delayed {
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<Clock::time_point, sluice_udf::Completion<int64_t>>> q;
  bool stop = false;
  int64_t dummy = 0;
  std::thread t{[this] { Run(); }};
  ~delayed() {
    {
      std::lock_guard l(mu);
      stop = true;
    }
    cv.notify_one();
    t.join();
  }
  void start(int64_t x, sluice_udf::Completion<int64_t> done) {
    {
      std::lock_guard l(mu);
      q.emplace_back(Clock::now() + std::chrono::milliseconds(10), done);
    }
    cv.notify_one();
  }
  void Run() {
    std::unique_lock l(mu);
    while (!stop) {
      if (q.empty()) {
        cv.wait(l);
        continue;
      }
      auto when = q.front().first;
      if (Clock::now() < when) {
        cv.wait_until(l, when);
        continue;
      }
      auto d = q.front().second;
      q.pop_front();
      l.unlock();
      d.complete(d.id());
      l.lock();
    }
  }
};
