#pragma once
// What the generated sources (impulse, nexmark) share: the paced production of a subtask's
// share of a numbered sequence, and the parsing of their numeric options.

#include <cstdint>
#include <optional>
#include <string>

#include "batch/batch.h"
#include "common/status.h"
#include "common/time.h"
#include "runtime/operator.h"

namespace sluice::connectors {

// A subtask of a generated source: subtask s of P produces the global ids s, s+P, s+2P, ...
// (so the union over the subtasks is the same at any parallelism), below `total_ids` if given,
// at `rate` ids per second over all subtasks counted from the first poll (0: as fast as the
// downstream takes them). Global id g falls due g / rate seconds after the start; a resumed run
// paces from its restored position. Derived classes make the batches and keep the position in
// their checkpoints (Snapshot/Restore, calling Resume).
class StridedGeneratorSource : public runtime::SourceOperator {
 public:
  Result<runtime::SourcePoll> Poll(runtime::Collector& out) final;

 protected:
  StridedGeneratorSource(int subtask, int parallelism, double rate,
                         std::optional<uint64_t> total_ids, int64_t batch_rows);

  // The batch of this subtask's `n` ids from global id `first` on (stride: parallelism()).
  virtual Result<batch::BatchPtr> MakeBatch(uint64_t first, int64_t n, ProcessingTime now) = 0;

  uint64_t subtask() const { return subtask_; }
  uint64_t parallelism() const { return parallelism_; }
  uint64_t emitted() const { return emitted_; }  // this subtask's ids produced so far
  uint64_t total() const { return total_; }      // this subtask's ids in all (max: unbounded)
  // Continues after `emitted` ids (a restored position, at most total()).
  void Resume(uint64_t emitted);

 private:
  // How many of this subtask's ids are below global id `n`.
  uint64_t CountBelow(uint64_t n) const;
  // When this subtask's next id falls due; one microsecond late rather than early, so the poll
  // then finds it due despite rounding.
  ProcessingTime NextDue() const;

  uint64_t subtask_;
  uint64_t parallelism_;
  double rate_;
  int64_t batch_rows_;
  uint64_t total_;
  uint64_t emitted_ = 0;
  uint64_t resumed_at_id_ = 0;  // the global id a resumed run paces from
  bool started_ = false;
  ProcessingTime start_;
};

// A non-negative integer option's value (surrounding spaces allowed); nullopt when it is not one.
std::optional<uint64_t> ParseUnsignedOption(const std::string& raw);
// A finite number option's value (surrounding spaces allowed); nullopt when it is not one.
std::optional<double> ParseNumberOption(const std::string& raw);

}  // namespace sluice::connectors
