#pragma once
// Maps the key columns of rows to dense group indexes (0, 1, 2, ...) and keeps one copy of each
// group's key, so aggregate states can be indexed by group and the keys emitted later.
//
// Keys are encoded into bytes (fixed-width bytes, length-prefixed strings, a NULL marker per
// column), stored back to back in one arena, and found through an open-addressing hash table
// of (group, hash tag) slots with linear probing: a lookup touches one slot line and the key's
// bytes, with no allocation per row. Keys of scalar types are decoded from their bytes when
// emitted; nested keys (window structs, arrays) also keep their values.
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
  // stored key when new.
  uint32_t FindOrInsertFrom(const GroupTable& source, uint32_t source_group);
  // Forgets group `group` (which must be live): its key is freed and a later new group reuses
  // its index. The caller resets whatever it keeps per group.
  void Erase(uint32_t group);
  // Group indexes in use or free: the size of arrays indexed by group.
  int64_t size() const { return static_cast<int64_t>(groups_.size()); }
  // Groups that hold a key (size() minus the erased ones not yet reused).
  int64_t live_count() const { return size() - static_cast<int64_t>(free_.size()); }
  bool live(uint32_t group) const { return groups_[group].live; }
  int64_t key_count() const { return static_cast<int64_t>(key_types_.size()); }
  bool empty() const { return groups_.empty(); }
  // Appends group `group`'s key values to one builder per key column.
  void AppendKey(uint32_t group, std::vector<batch::ColumnBuilder>* builders) const;
  // The keys of groups `groups[0..n)`, one column per key column.
  std::vector<batch::ColumnPtr> GatherKeys(const uint32_t* groups, int64_t n) const;
  // Group `group`'s key values, one per key column (slow path; valid until the next call).
  std::span<const types::Value> KeyValues(uint32_t group) const;
  // The key values of every group, in group order (NULLs for erased groups). Cached until a
  // group is added or erased, so a sliding window that emits the same keys every slide builds
  // them once.
  const std::vector<batch::ColumnPtr>& KeyColumns() const;
  int64_t MemoryBytes() const;
  std::string_view encoded(uint32_t group) const {
    const Group& g = groups_[group];
    return {arena_.data() + g.offset, g.length};
  }

 private:
  struct Group {
    uint64_t hash = 0;
    uint64_t offset = 0;  // of its encoded key in arena_
    uint32_t length = 0;
    bool live = false;
  };
  struct Slot {
    uint32_t group;  // kNoGroup: empty
    uint32_t tag;    // high bits of the key's hash
  };
  // A one-column key of 1 to 8 bytes is looked up by value: the key sits in its slot.
  struct FastSlot {
    uint64_t key;
    uint32_t group;  // kNoGroup: empty
  };
  static uint64_t Mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }
  uint64_t LoadFast(const batch::Column& c, int64_t row) const;
  uint32_t FastFindOrInsert(uint64_t key, uint64_t h);
  uint32_t FastFind(uint64_t key) const;
  // Group index for a new key: a free index or a new one; its bytes go to the arena.
  uint32_t AllocateGroup(std::string_view key, uint64_t h);
  void GrowFast();
  void EraseFast(uint32_t group);
  void EraseSlot(uint32_t group);

  void Encode(const std::vector<batch::ColumnPtr>& keys, int64_t row, std::string* out) const;
  static uint64_t HashOf(std::string_view key);
  // The slot holding `key` (hash `h`), or the empty slot where it would go.
  size_t Probe(std::string_view key, uint64_t h) const;
  // A group index for new key `key` (reusing an erased group's index when there is one),
  // entered in the index at slot `slot`; the caller stores nested key values.
  uint32_t NewGroup(std::string_view key, uint64_t h, size_t slot);
  void Grow();
  void CompactArena();
  // Appends the key of `group` to the builders (decoding its bytes).
  void DecodeKey(uint32_t group, std::vector<batch::ColumnBuilder>* builders) const;

  std::vector<types::DataType> key_types_;
  int fast_width_ = 0;  // > 0: the one key column's byte width, looked up in fast_slots_
  std::vector<FastSlot> fast_slots_;
  uint32_t null_group_ = kNoGroup;  // fast tables: the group of the NULL key
  std::vector<uint64_t> fast_hashes_;
  bool decodable_ = true;  // every key type is scalar: keys are decoded from their bytes
  std::vector<Group> groups_;
  std::vector<Slot> slots_;  // power-of-two size, at most half full
  uint64_t mask_ = 0;
  std::string arena_;
  uint64_t garbage_ = 0;                  // arena bytes of erased keys
  std::vector<types::Value> key_values_;  // nested keys only: key_types_.size() per group
  std::vector<uint32_t> free_;            // erased groups, reused last in first out
  std::string scratch_;
  mutable std::vector<types::Value> value_scratch_;
  mutable std::vector<batch::ColumnPtr> key_cache_;
  mutable bool key_cache_valid_ = false;
};

}  // namespace sluice::exec
