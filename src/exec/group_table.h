#pragma once
// Maps the key columns of rows to dense group indexes (0, 1, 2, ...) and keeps one copy of each
// group's key values, so aggregate states can be indexed by group and the keys emitted later.
//
// Keys are encoded into a reusable byte string (fixed-width bytes, length-prefixed strings,
// a NULL marker per column) and looked up in a hash map; a BIGINT key encodes to 9 bytes and
// needs no allocation.
//
// A group can be erased (an updating aggregate forgets a key whose rows were all retracted or
// whose state expired): its key is freed and its index is reused by a later new group, so
// indexes stay dense. Tables that never erase number their groups 0, 1, 2, ... in order of
// first appearance.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "batch/batch.h"
#include "batch/column_builder.h"

namespace sluice::exec {

class GroupTable {
 public:
  // What Find reports for a key the table does not hold.
  static constexpr uint32_t kNoGroup = UINT32_MAX;

  explicit GroupTable(std::vector<types::DataType> key_types);

  // Group index of each of the rows `rows` (or all rows when null) of the key columns;
  // new groups are created. `out` receives one index per row considered.
  void FindOrInsert(const std::vector<batch::ColumnPtr>& keys, const std::vector<int32_t>* rows,
                    int64_t n, std::vector<uint32_t>* out);
  // Like FindOrInsert but never creates a group: kNoGroup for a key the table does not hold.
  void Find(const std::vector<batch::ColumnPtr>& keys, const std::vector<int32_t>* rows, int64_t n,
            std::vector<uint32_t>* out) const;
  // Group index for an already-encoded key (from another table), creating it from `source`'s
  // stored key values when new.
  uint32_t FindOrInsertFrom(const GroupTable& source, uint32_t source_group);
  // Forgets group `group` (which must be live): its key is freed and a later new group reuses
  // its index. The caller resets whatever it keeps per group.
  void Erase(uint32_t group);
  // Group indexes in use or free: the size of arrays indexed by group.
  int64_t size() const { return static_cast<int64_t>(encoded_.size()); }
  // Groups that hold a key (size() minus the erased ones not yet reused).
  int64_t live_count() const { return size() - static_cast<int64_t>(free_.size()); }
  bool live(uint32_t group) const { return encoded_[group] != nullptr; }
  int64_t key_count() const { return static_cast<int64_t>(key_types_.size()); }
  bool empty() const { return encoded_.empty(); }
  // Appends group `group`'s key values to one builder per key column.
  void AppendKey(uint32_t group, std::vector<batch::ColumnBuilder>* builders) const;
  // Group `group`'s key values, one per key column.
  std::span<const types::Value> KeyValues(uint32_t group) const {
    size_t k = key_types_.size();
    return {key_values_.data() + group * k, k};
  }
  // The key values of every group, in group order (NULLs for erased groups). Cached until a
  // group is added or erased, so a sliding window that emits the same keys every slide builds
  // them once.
  const std::vector<batch::ColumnPtr>& KeyColumns() const;
  int64_t MemoryBytes() const;
  const std::string& encoded(uint32_t group) const { return *encoded_[group]; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  void Encode(const std::vector<batch::ColumnPtr>& keys, int64_t row, std::string* out) const;
  // A group index for a new key `key` (reusing an erased group's index when there is one),
  // entered in the index; the caller stores its key values.
  uint32_t NewGroup(const std::string& key);

  std::vector<types::DataType> key_types_;
  std::unordered_map<std::string, uint32_t, Hash, Eq> index_;
  std::vector<const std::string*> encoded_;  // group → its key in index_; null when erased
  std::vector<types::Value> key_values_;     // group-major: key_types_.size() per group
  std::vector<uint32_t> free_;               // erased groups, reused last in first out
  std::string scratch_;
  mutable std::vector<batch::ColumnPtr> key_cache_;
  mutable bool key_cache_valid_ = false;
};

}  // namespace sluice::exec
