#pragma once
// What flows on a channel: data batches and in-band control signals. Control signals travel in
// order with the data, so a watermark or barrier never overtakes the rows sent before it.

#include <cstdint>
#include <variant>

#include "batch/batch.h"
#include "common/time.h"
#include "runtime/checkpoint_metadata.h"

namespace sluice::runtime {

// Checkpoint barrier of epoch `epoch` (aligned on every input before the snapshot). A final
// barrier (kind kEnd or kStop) is the last message before EndOfData: at kEnd a task flushes
// what it holds before its snapshot (the input has ended); at kStop it keeps it in the snapshot
// for the run that resumes.
struct Barrier {
  int64_t epoch = 0;
  CheckpointKind kind = CheckpointKind::kPeriodic;
  bool final() const { return kind != CheckpointKind::kPeriodic; }
};
// The sender will send nothing more.
struct EndOfData {};
// The sender has had no data for its idle timeout: it stops holding the watermark back until
// it sends a batch or a watermark again.
struct Idle {};

using Message = std::variant<batch::BatchPtr, Watermark, Barrier, EndOfData, Idle>;

}  // namespace sluice::runtime
