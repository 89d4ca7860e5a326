#include "exec/group_table.h"

#include <cstring>

#include <xxhash.h>

#include "common/check.h"

namespace sluice::exec {

using batch::Column;
using types::TypeId;

namespace {

bool Scalar(const types::DataType& t) {
  return t.byte_width() > 0 || t.id() == TypeId::kBool || t.is_string_like();
}

}  // namespace

GroupTable::GroupTable(std::vector<types::DataType> key_types) : key_types_(std::move(key_types)) {
  for (const auto& t : key_types_) decodable_ &= Scalar(t);
  if (key_types_.size() == 1) {
    int w = key_types_[0].byte_width();
    if (w == 1 || w == 2 || w == 4 || w == 8) fast_width_ = w;
  }
  if (fast_width_ > 0) {
    fast_slots_.assign(16, FastSlot{0, kNoGroup});
  } else {
    slots_.assign(16, Slot{kNoGroup, 0});
  }
  mask_ = 15;
}

uint64_t GroupTable::LoadFast(const batch::Column& c, int64_t row) const {
  uint64_t v = 0;
  std::memcpy(&v, c.values->data() + row * fast_width_, static_cast<size_t>(fast_width_));
  return v;
}

uint32_t GroupTable::AllocateGroup(std::string_view key, uint64_t h) {
  key_cache_valid_ = false;
  uint32_t g;
  if (!free_.empty()) {
    g = free_.back();
    free_.pop_back();
  } else {
    g = static_cast<uint32_t>(groups_.size());
    groups_.emplace_back();
    if (!decodable_) key_values_.resize(key_values_.size() + key_types_.size());
  }
  Group& grp = groups_[g];
  grp.hash = h;
  grp.offset = arena_.size();
  grp.length = static_cast<uint32_t>(key.size());
  grp.live = true;
  arena_.append(key);
  return g;
}

void GroupTable::GrowFast() {
  std::vector<FastSlot> bigger(fast_slots_.size() * 2, FastSlot{0, kNoGroup});
  mask_ = bigger.size() - 1;
  for (const auto& s : fast_slots_) {
    if (s.group == kNoGroup) continue;
    size_t i = Mix(s.key) & mask_;
    while (bigger[i].group != kNoGroup) i = (i + 1) & mask_;
    bigger[i] = s;
  }
  fast_slots_ = std::move(bigger);
}

uint32_t GroupTable::FastFind(uint64_t key) const {
  size_t i = Mix(key) & mask_;
  while (true) {
    const FastSlot& s = fast_slots_[i];
    if (s.group == kNoGroup || s.key == key) return s.group;
    i = (i + 1) & mask_;
  }
}

uint32_t GroupTable::FastFindOrInsert(uint64_t key, uint64_t h) {
  size_t i = h & mask_;
  while (true) {
    FastSlot& s = fast_slots_[i];
    if (s.group == kNoGroup) break;
    if (s.key == key) return s.group;
    i = (i + 1) & mask_;
  }
  char bytes[9];
  bytes[0] = '\1';
  std::memcpy(bytes + 1, &key, static_cast<size_t>(fast_width_));
  uint32_t g = AllocateGroup(std::string_view(bytes, 1 + static_cast<size_t>(fast_width_)), h);
  fast_slots_[i] = FastSlot{key, g};
  if (static_cast<size_t>(live_count()) * 2 > fast_slots_.size()) GrowFast();
  return g;
}

uint64_t GroupTable::HashOf(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

void GroupTable::Encode(const std::vector<batch::ColumnPtr>& keys, int64_t row,
                        std::string* out) const {
  out->clear();
  for (const auto& c : keys) {
    if (c->IsNull(row)) {
      out->push_back('\0');
      continue;
    }
    out->push_back('\1');
    int width = c->type.byte_width();
    if (width > 0) {
      out->append(reinterpret_cast<const char*>(c->values->data()) + row * width,
                  static_cast<size_t>(width));
    } else if (c->type.id() == TypeId::kBool) {
      out->push_back(c->GetBool(row) ? '\1' : '\0');
    } else if (c->type.is_string_like()) {
      std::string_view s = c->GetString(row);
      uint32_t len = static_cast<uint32_t>(s.size());
      out->append(reinterpret_cast<const char*>(&len), sizeof(len));
      out->append(s.data(), s.size());
    } else {
      // Nested keys (window structs, arrays): their text form is unambiguous per type.
      std::string text = c->GetValue(row).ToString();
      uint32_t len = static_cast<uint32_t>(text.size());
      out->append(reinterpret_cast<const char*>(&len), sizeof(len));
      out->append(text);
    }
  }
}

size_t GroupTable::Probe(std::string_view key, uint64_t h) const {
  const auto tag = static_cast<uint32_t>(h >> 32);
  size_t i = h & mask_;
  while (true) {
    const Slot& s = slots_[i];
    if (s.group == kNoGroup) return i;
    if (s.tag == tag && encoded(s.group) == key) return i;
    i = (i + 1) & mask_;
  }
}

void GroupTable::Grow() {
  std::vector<Slot> bigger(slots_.size() * 2, Slot{kNoGroup, 0});
  mask_ = bigger.size() - 1;
  for (uint32_t g = 0; g < groups_.size(); ++g) {
    if (!groups_[g].live) continue;
    size_t i = groups_[g].hash & mask_;
    while (bigger[i].group != kNoGroup) i = (i + 1) & mask_;
    bigger[i] = Slot{g, static_cast<uint32_t>(groups_[g].hash >> 32)};
  }
  slots_ = std::move(bigger);
}

uint32_t GroupTable::NewGroup(std::string_view key, uint64_t h, size_t slot) {
  uint32_t g = AllocateGroup(key, h);
  slots_[slot] = Slot{g, static_cast<uint32_t>(h >> 32)};
  if (static_cast<size_t>(live_count()) * 2 > slots_.size()) Grow();
  return g;
}

void GroupTable::FindOrInsert(const std::vector<batch::ColumnPtr>& keys,
                              const std::vector<int32_t>* rows, int64_t n,
                              std::vector<uint32_t>* out) {
  out->resize(static_cast<size_t>(n));
  const size_t k = key_types_.size();
  if (keys.empty()) {
    // A global aggregate: one group.
    uint64_t h = HashOf({});
    size_t slot = Probe({}, h);
    uint32_t g = slots_[slot].group != kNoGroup ? slots_[slot].group : NewGroup({}, h, slot);
    std::fill(out->begin(), out->end(), g);
    return;
  }
  if (fast_width_ > 0) {
    const batch::Column& c = *keys[0];
    // Two passes: hash every key and prefetch its slot, then probe.
    fast_hashes_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      int64_t row = rows ? (*rows)[static_cast<size_t>(i)] : i;
      uint64_t h = Mix(LoadFast(c, row));
      fast_hashes_[static_cast<size_t>(i)] = h;
      __builtin_prefetch(&fast_slots_[h & mask_]);
    }
    for (int64_t i = 0; i < n; ++i) {
      int64_t row = rows ? (*rows)[static_cast<size_t>(i)] : i;
      uint32_t g;
      if (c.IsNull(row)) {
        if (null_group_ == kNoGroup) null_group_ = AllocateGroup(std::string_view("\0", 1), 0);
        g = null_group_;
      } else {
        g = FastFindOrInsert(LoadFast(c, row), fast_hashes_[static_cast<size_t>(i)]);
      }
      (*out)[static_cast<size_t>(i)] = g;
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    int64_t row = rows ? (*rows)[static_cast<size_t>(i)] : i;
    Encode(keys, row, &scratch_);
    uint64_t h = HashOf(scratch_);
    size_t slot = Probe(scratch_, h);
    uint32_t g = slots_[slot].group;
    if (g == kNoGroup) {
      g = NewGroup(scratch_, h, slot);
      if (!decodable_) {
        for (size_t j = 0; j < k; ++j) key_values_[g * k + j] = keys[j]->GetValue(row);
      }
    }
    (*out)[static_cast<size_t>(i)] = g;
  }
}

void GroupTable::Find(const std::vector<batch::ColumnPtr>& keys, const std::vector<int32_t>* rows,
                      int64_t n, std::vector<uint32_t>* out) const {
  out->resize(static_cast<size_t>(n));
  if (keys.empty()) {
    uint32_t g = slots_[Probe({}, HashOf({}))].group;
    std::fill(out->begin(), out->end(), g);
    return;
  }
  if (fast_width_ > 0) {
    const batch::Column& c = *keys[0];
    for (int64_t i = 0; i < n; ++i) {
      int64_t row = rows ? (*rows)[static_cast<size_t>(i)] : i;
      (*out)[static_cast<size_t>(i)] = c.IsNull(row) ? null_group_ : FastFind(LoadFast(c, row));
    }
    return;
  }
  std::string scratch;
  for (int64_t i = 0; i < n; ++i) {
    int64_t row = rows ? (*rows)[static_cast<size_t>(i)] : i;
    Encode(keys, row, &scratch);
    (*out)[static_cast<size_t>(i)] = slots_[Probe(scratch, HashOf(scratch))].group;
  }
}

uint32_t GroupTable::FindOrInsertFrom(const GroupTable& source, uint32_t source_group) {
  std::string_view key = source.encoded(source_group);
  if (fast_width_ > 0) {
    if (key[0] == '\0') {
      if (null_group_ == kNoGroup) null_group_ = AllocateGroup(key, 0);
      return null_group_;
    }
    uint64_t v = 0;
    std::memcpy(&v, key.data() + 1, static_cast<size_t>(fast_width_));
    return FastFindOrInsert(v, Mix(v));
  }
  uint64_t h = source.groups_[source_group].hash;
  size_t slot = Probe(key, h);
  if (slots_[slot].group != kNoGroup) return slots_[slot].group;
  // `key` points into the source's arena, never this one's: appending is safe.
  uint32_t g = NewGroup(key, h, slot);
  if (!decodable_) {
    size_t k = key_types_.size();
    for (size_t j = 0; j < k; ++j) {
      key_values_[g * k + j] = source.key_values_[source_group * k + j];
    }
  }
  return g;
}

void GroupTable::Erase(uint32_t group) {
  SLUICE_CHECK(group < groups_.size() && groups_[group].live, "erasing a free group");
  if (fast_width_ > 0) {
    EraseFast(group);
  } else {
    EraseSlot(group);
  }
  Group& g = groups_[group];
  garbage_ += g.length;
  g = Group{};
  if (!decodable_) {
    size_t k = key_types_.size();
    for (size_t c = 0; c < k; ++c) key_values_[group * k + c] = types::Value();
  }
  free_.push_back(group);
  key_cache_valid_ = false;
  if (garbage_ > (1u << 20) && garbage_ * 2 > arena_.size()) CompactArena();
}

void GroupTable::EraseFast(uint32_t group) {
  std::string_view key = encoded(group);
  if (key[0] == '\0') {
    null_group_ = kNoGroup;
    return;
  }
  uint64_t v = 0;
  std::memcpy(&v, key.data() + 1, static_cast<size_t>(fast_width_));
  size_t i = Mix(v) & mask_;
  while (fast_slots_[i].key != v || fast_slots_[i].group != group) i = (i + 1) & mask_;
  size_t j = i;
  while (true) {
    j = (j + 1) & mask_;
    if (fast_slots_[j].group == kNoGroup) break;
    size_t home = Mix(fast_slots_[j].key) & mask_;
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      fast_slots_[i] = fast_slots_[j];
      i = j;
    }
  }
  fast_slots_[i] = FastSlot{0, kNoGroup};
}

void GroupTable::EraseSlot(uint32_t group) {
  size_t i = Probe(encoded(group), groups_[group].hash);
  SLUICE_CHECK(slots_[i].group == group, "group missing from its index");
  // Backward-shift deletion: later entries of the probe run move up so lookups need no
  // tombstones.
  size_t j = i;
  while (true) {
    j = (j + 1) & mask_;
    if (slots_[j].group == kNoGroup) break;
    size_t home = groups_[slots_[j].group].hash & mask_;
    // The entry at j may move to i when its home is not cyclically within (i, j].
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Slot{kNoGroup, 0};
}

void GroupTable::CompactArena() {
  std::string fresh;
  fresh.reserve(arena_.size() - garbage_);
  for (auto& g : groups_) {
    if (!g.live) continue;
    uint64_t offset = fresh.size();
    fresh.append(arena_, g.offset, g.length);
    g.offset = offset;
  }
  arena_ = std::move(fresh);
  garbage_ = 0;
}

void GroupTable::DecodeKey(uint32_t group, std::vector<batch::ColumnBuilder>* builders) const {
  std::string_view bytes = encoded(group);
  const char* p = bytes.data();
  for (size_t j = 0; j < key_types_.size(); ++j) {
    batch::ColumnBuilder& b = (*builders)[j];
    if (*p++ == '\0') {
      b.AppendNull();
      continue;
    }
    const types::DataType& t = key_types_[j];
    switch (t.byte_width()) {
      case 1: {
        uint8_t v;
        std::memcpy(&v, p, 1);
        b.AppendFixed(v);
        p += 1;
        continue;
      }
      case 2: {
        uint16_t v;
        std::memcpy(&v, p, 2);
        b.AppendFixed(v);
        p += 2;
        continue;
      }
      case 4: {
        uint32_t v;
        std::memcpy(&v, p, 4);
        b.AppendFixed(v);
        p += 4;
        continue;
      }
      case 8: {
        uint64_t v;
        std::memcpy(&v, p, 8);
        b.AppendFixed(v);
        p += 8;
        continue;
      }
      case 16: {
        types::int128_t v;
        std::memcpy(&v, p, 16);
        b.AppendFixed(v);
        p += 16;
        continue;
      }
      default:
        break;
    }
    if (t.id() == TypeId::kBool) {
      b.AppendBool(*p++ != '\0');
      continue;
    }
    uint32_t len;
    std::memcpy(&len, p, sizeof(len));
    p += sizeof(len);
    b.AppendString(std::string_view(p, len));
    p += len;
  }
}

void GroupTable::AppendKey(uint32_t group, std::vector<batch::ColumnBuilder>* builders) const {
  size_t k = key_types_.size();
  if (!groups_[group].live) {
    for (size_t j = 0; j < k; ++j) (*builders)[j].AppendNull();
    return;
  }
  if (decodable_) return DecodeKey(group, builders);
  for (size_t j = 0; j < k; ++j) (*builders)[j].AppendValue(key_values_[group * k + j]);
}

std::vector<batch::ColumnPtr> GroupTable::GatherKeys(const uint32_t* groups, int64_t n) const {
  std::vector<batch::ColumnBuilder> builders;
  for (const auto& t : key_types_) {
    builders.emplace_back(t);
    builders.back().Reserve(n);
  }
  for (int64_t i = 0; i < n; ++i) AppendKey(groups[i], &builders);
  std::vector<batch::ColumnPtr> out;
  for (auto& b : builders) out.push_back(b.Finish());
  return out;
}

std::span<const types::Value> GroupTable::KeyValues(uint32_t group) const {
  size_t k = key_types_.size();
  if (!decodable_) return {key_values_.data() + group * k, k};
  auto cols = GatherKeys(&group, 1);
  value_scratch_.clear();
  for (const auto& c : cols) value_scratch_.push_back(c->GetValue(0));
  return {value_scratch_.data(), k};
}

const std::vector<batch::ColumnPtr>& GroupTable::KeyColumns() const {
  if (key_cache_valid_) return key_cache_;
  std::vector<uint32_t> all(groups_.size());
  for (uint32_t g = 0; g < all.size(); ++g) all[g] = g;
  key_cache_ = GatherKeys(all.data(), static_cast<int64_t>(all.size()));
  key_cache_valid_ = true;
  return key_cache_;
}

int64_t GroupTable::MemoryBytes() const {
  return static_cast<int64_t>(
      arena_.capacity() + groups_.capacity() * sizeof(Group) + slots_.capacity() * sizeof(Slot) +
      key_values_.capacity() * sizeof(types::Value) + free_.capacity() * sizeof(uint32_t));
}

}  // namespace sluice::exec
