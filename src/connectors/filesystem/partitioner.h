#pragma once
// The filesystem sink's partitioning: each row's directory under the output root, from
// `partitioning.time_pattern` (strftime conversions of the row's event time, UTC) and
// `partitioning.fields` (Hive-style `name=value` directories, values %-escaped, NULL as
// __HIVE_DEFAULT_PARTITION__): "2023/10/09/17/customer=ann".

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "batch/batch.h"
#include "common/status.h"
#include "types/schema.h"

namespace sluice::connectors::filesystem {

struct PartitionGroup {
  std::string dir;            // "" without partitioning
  std::vector<int32_t> rows;  // ascending
  // With a time pattern: the first event time past the group's time partition (the
  // watermark passing it closes the partition's file); INT64_MAX otherwise.
  int64_t time_end = INT64_MAX;
};

class Partitioner {
 public:
  // `fields`: lower-case column names, found in `schema`; `time_pattern` may be empty.
  static Result<Partitioner> Make(const std::vector<std::string>& fields,
                                  const std::string& time_pattern, const types::Schema& schema,
                                  const std::string& table);
  bool enabled() const { return !fields_.empty() || !pattern_.empty(); }
  // Groups the rows of `b` by directory, in order of first appearance.
  void Group(const batch::Batch& b, std::vector<PartitionGroup>* out);

 private:
  enum class Unit { kSecond, kMinute, kHour, kDay, kMonth, kYear };
  // The time partition holding `micros`: sets bucket_start_/end_ and bucket_text_.
  void EnterBucket(int64_t micros);

  std::vector<size_t> fields_;
  std::vector<std::string> names_;
  std::string pattern_;
  Unit unit_ = Unit::kYear;
  int64_t bucket_start_ = 1, bucket_end_ = 0;  // empty: no bucket yet
  std::string bucket_text_;
  std::string key_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace sluice::connectors::filesystem
