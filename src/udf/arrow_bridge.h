#pragma once
// Sluice columns across the UDF ABI (include/sluice/udf.h): arguments exported as borrowed Arrow
// C Data Interface arrays without copying, and the result array prepared by Sluice, grown by
// the UDF through SluiceUdfHost::reserve and taken back as a Column without copying.
//
// Not thread-safe: one ArgumentArrays and one ResultArray per call, on the calling thread.

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <sluice/udf.h>

#include "batch/column.h"
#include "common/status.h"

namespace sluice::udf {

// Borrowed arrays of the argument columns, valid while this object and the columns live.
class ArgumentArrays {
 public:
  explicit ArgumentArrays(std::span<const batch::ColumnPtr> columns);
  ArgumentArrays(const ArgumentArrays&) = delete;
  ArgumentArrays& operator=(const ArgumentArrays&) = delete;
  const ArrowArray* const* data() const { return roots_.data(); }
  int32_t size() const { return static_cast<int32_t>(roots_.size()); }

 private:
  struct Node {
    ArrowArray array{};
    const void* buffers[3] = {nullptr, nullptr, nullptr};
    std::vector<ArrowArray*> children;
  };
  ArrowArray* Export(const batch::Column& column);
  std::deque<Node> nodes_;  // stable addresses
  std::vector<const ArrowArray*> roots_;
};

// The result of one call: `rows` rows of `type`, every row valid, fixed-width values
// allocated (uninitialized), string and list offsets zeroed.
class ResultArray {
 public:
  ResultArray(const types::DataType& type, int64_t rows);
  ResultArray(const ResultArray&) = delete;
  ResultArray& operator=(const ResultArray&) = delete;
  ArrowArray* array() { return &nodes_.front().array; }
  SluiceUdfHost* host() { return &host_; }
  // The column the UDF wrote. Checks what a UDF could get wrong (a list child's length, offsets
  // beyond the bytes reserved); `function` names the UDF in the message.
  Result<batch::ColumnPtr> Finish(const std::string& function);

 private:
  struct Node {
    ArrowArray array{};
    const void* buffers[3] = {nullptr, nullptr, nullptr};
    batch::BufferPtr owned[3];
    std::vector<ArrowArray*> children;
    types::DataType type;
    ResultArray* owner = nullptr;
  };
  ArrowArray* Prepare(const types::DataType& type, int64_t rows);
  Result<batch::ColumnPtr> Take(Node* node, const std::string& function);
  static void* Reserve(SluiceUdfHost* host, ArrowArray* array, int32_t index, int64_t bytes);
  std::deque<Node> nodes_;
  SluiceUdfHost host_{};
};

}  // namespace sluice::udf
