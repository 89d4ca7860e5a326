#include "exec/group_table.h"

#include <cstring>

#include <xxhash.h>

#include "common/check.h"

namespace sluice::exec {

using batch::Column;
using types::TypeId;

GroupTable::GroupTable(std::vector<types::DataType> key_types) : key_types_(std::move(key_types)) {}

size_t GroupTable::Hash::operator()(std::string_view s) const {
  return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
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

uint32_t GroupTable::NewGroup(const std::string& key) {
  key_cache_valid_ = false;
  uint32_t g;
  if (!free_.empty()) {
    g = free_.back();
    free_.pop_back();
  } else {
    g = static_cast<uint32_t>(encoded_.size());
    encoded_.push_back(nullptr);
    key_values_.resize(key_values_.size() + key_types_.size());
  }
  encoded_[g] = &index_.emplace(key, g).first->first;
  return g;
}

void GroupTable::FindOrInsert(const std::vector<batch::ColumnPtr>& keys,
                              const std::vector<int32_t>* rows, int64_t n,
                              std::vector<uint32_t>* out) {
  out->resize(static_cast<size_t>(n));
  if (keys.empty()) {
    // A global aggregate: one group.
    uint32_t g = index_.empty() ? NewGroup(std::string()) : index_.begin()->second;
    std::fill(out->begin(), out->end(), g);
    return;
  }
  size_t k = key_types_.size();
  for (int64_t i = 0; i < n; ++i) {
    int64_t row = rows ? (*rows)[static_cast<size_t>(i)] : i;
    Encode(keys, row, &scratch_);
    auto it = index_.find(std::string_view(scratch_));
    if (it != index_.end()) {
      (*out)[static_cast<size_t>(i)] = it->second;
      continue;
    }
    uint32_t g = NewGroup(scratch_);
    for (size_t j = 0; j < k; ++j) key_values_[g * k + j] = keys[j]->GetValue(row);
    (*out)[static_cast<size_t>(i)] = g;
  }
}

void GroupTable::Find(const std::vector<batch::ColumnPtr>& keys, const std::vector<int32_t>* rows,
                      int64_t n, std::vector<uint32_t>* out) const {
  out->resize(static_cast<size_t>(n));
  if (keys.empty()) {
    uint32_t g = index_.empty() ? kNoGroup : index_.begin()->second;
    std::fill(out->begin(), out->end(), g);
    return;
  }
  std::string scratch;
  for (int64_t i = 0; i < n; ++i) {
    int64_t row = rows ? (*rows)[static_cast<size_t>(i)] : i;
    Encode(keys, row, &scratch);
    auto it = index_.find(std::string_view(scratch));
    (*out)[static_cast<size_t>(i)] = it != index_.end() ? it->second : kNoGroup;
  }
}

uint32_t GroupTable::FindOrInsertFrom(const GroupTable& source, uint32_t source_group) {
  const std::string& key = *source.encoded_[source_group];
  auto it = index_.find(std::string_view(key));
  if (it != index_.end()) return it->second;
  uint32_t g = NewGroup(key);
  size_t k = key_types_.size();
  for (size_t j = 0; j < k; ++j) {
    key_values_[g * k + j] = source.key_values_[source_group * k + j];
  }
  return g;
}

void GroupTable::Erase(uint32_t group) {
  SLUICE_CHECK(group < encoded_.size() && encoded_[group] != nullptr, "erasing a free group");
  index_.erase(index_.find(std::string_view(*encoded_[group])));
  encoded_[group] = nullptr;
  size_t k = key_types_.size();
  for (size_t j = 0; j < k; ++j) key_values_[group * k + j] = types::Value();
  free_.push_back(group);
  key_cache_valid_ = false;
}

void GroupTable::AppendKey(uint32_t group, std::vector<batch::ColumnBuilder>* builders) const {
  size_t k = key_types_.size();
  for (size_t j = 0; j < k; ++j) (*builders)[j].AppendValue(key_values_[group * k + j]);
}

const std::vector<batch::ColumnPtr>& GroupTable::KeyColumns() const {
  if (key_cache_valid_) return key_cache_;
  std::vector<batch::ColumnPtr>& out = key_cache_;
  out.clear();
  key_cache_valid_ = true;
  size_t k = key_types_.size();
  for (size_t j = 0; j < k; ++j) {
    batch::ColumnBuilder b(key_types_[j]);
    b.Reserve(size());
    for (int64_t g = 0; g < size(); ++g) b.AppendValue(key_values_[static_cast<size_t>(g) * k + j]);
    out.push_back(b.Finish());
  }
  return out;
}

int64_t GroupTable::MemoryBytes() const {
  int64_t bytes = 0;
  for (const auto* s : encoded_) bytes += s ? static_cast<int64_t>(s->capacity()) + 48 : 0;
  bytes += static_cast<int64_t>(key_values_.size() * sizeof(types::Value) +
                                free_.capacity() * sizeof(uint32_t));
  return bytes;
}

}  // namespace sluice::exec
