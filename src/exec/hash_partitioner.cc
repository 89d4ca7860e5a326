#include "exec/hash_partitioner.h"

#include <xxhash.h>

namespace sluice::exec {

using batch::Column;
using types::TypeId;

namespace {

constexpr uint64_t kNullHash = 0x9e3779b97f4a7c15ULL;

inline uint64_t Mix(uint64_t h, uint64_t v) {
  // Combine like boost::hash_combine, widened to 64 bits.
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 12) + (h >> 4));
}

template <typename T>
void HashFixed(const Column& c, std::vector<uint64_t>* out, bool first) {
  const T* v = c.raw<T>();
  uint64_t* h = out->data();
  for (int64_t i = 0; i < c.length; ++i) {
    uint64_t x = XXH3_64bits(&v[i], sizeof(T));
    h[i] = first ? x : Mix(h[i], x);
  }
}

void HashColumn(const Column& c, std::vector<uint64_t>* out, bool first) {
  // A NULL's slot holds any value (an expression computes over it), so the hash of a NULL
  // must not depend on it: keep the hash of the columns before, to mix kNullHash into.
  std::vector<uint64_t> before;
  if (c.validity && !first) before.assign(out->begin(), out->begin() + c.length);
  switch (c.type.byte_width()) {
    case 1:
      HashFixed<uint8_t>(c, out, first);
      break;
    case 2:
      HashFixed<uint16_t>(c, out, first);
      break;
    case 4:
      HashFixed<uint32_t>(c, out, first);
      break;
    case 8:
      HashFixed<uint64_t>(c, out, first);
      break;
    case 16:
      HashFixed<types::int128_t>(c, out, first);
      break;
    default:
      if (c.type.is_string_like()) {
        for (int64_t i = 0; i < c.length; ++i) {
          auto s = c.GetString(i);
          uint64_t x = XXH3_64bits(s.data(), s.size());
          (*out)[static_cast<size_t>(i)] = first ? x : Mix((*out)[static_cast<size_t>(i)], x);
        }
      } else {
        // Booleans and nested values: through their text form (rare as keys).
        for (int64_t i = 0; i < c.length; ++i) {
          std::string s = c.GetValue(i).ToString();
          uint64_t x = XXH3_64bits(s.data(), s.size());
          (*out)[static_cast<size_t>(i)] = first ? x : Mix((*out)[static_cast<size_t>(i)], x);
        }
      }
      break;
  }
  if (c.validity) {
    for (int64_t i = 0; i < c.length; ++i) {
      if (c.IsNull(i)) {
        (*out)[static_cast<size_t>(i)] =
            first ? kNullHash : Mix(before[static_cast<size_t>(i)], kNullHash);
      }
    }
  }
}

// Multiply-shift maps the hash onto [0, partitions) without a division.
inline uint64_t TargetOf(uint64_t hash, int partitions) {
  return static_cast<uint64_t>(
      (static_cast<unsigned __int128>(hash) * static_cast<uint64_t>(partitions)) >> 64);
}

}  // namespace

void HashColumns(const batch::Batch& batch, const std::vector<int>& key_columns,
                 std::vector<uint64_t>* hashes) {
  hashes->assign(static_cast<size_t>(batch.num_rows), 0);
  bool first = true;
  for (int k : key_columns) {
    HashColumn(*batch.columns[static_cast<size_t>(k)], hashes, first);
    first = false;
  }
}

void PartitionRows(const batch::Batch& batch, const std::vector<int>& key_columns, int parallelism,
                   std::vector<int>* targets) {
  if (parallelism <= 1) {
    targets->assign(static_cast<size_t>(batch.num_rows), 0);
    return;
  }
  std::vector<uint64_t> hashes;
  HashColumns(batch, key_columns, &hashes);
  targets->resize(hashes.size());
  for (size_t i = 0; i < hashes.size(); ++i) {
    (*targets)[i] = static_cast<int>(TargetOf(hashes[i], parallelism));
  }
}

batch::BatchPtr RowsOfSubtask(const batch::BatchPtr& batch, const std::vector<int>& key_columns,
                              int subtask, int parallelism) {
  if (parallelism <= 1) return batch->num_rows > 0 ? batch : nullptr;
  std::vector<int> targets;
  PartitionRows(*batch, key_columns, parallelism, &targets);
  std::vector<int32_t> rows;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] == subtask) rows.push_back(static_cast<int32_t>(i));
  }
  if (rows.empty()) return nullptr;
  if (static_cast<int64_t>(rows.size()) == batch->num_rows) return batch;
  return batch->Select(rows);
}

runtime::Partitioner MakeHashPartitioner(std::vector<int> key_columns) {
  return [key_columns](const batch::BatchPtr& b, int partitions) {
    std::vector<batch::BatchPtr> parts(static_cast<size_t>(partitions));
    if (partitions == 1) {
      parts[0] = b;
      return parts;
    }
    std::vector<uint64_t> hashes;
    HashColumns(*b, key_columns, &hashes);
    std::vector<std::vector<int32_t>> rows(static_cast<size_t>(partitions));
    for (auto& r : rows) r.reserve(static_cast<size_t>(b->num_rows / partitions + 16));
    for (int64_t i = 0; i < b->num_rows; ++i) {
      uint64_t p = TargetOf(hashes[static_cast<size_t>(i)], partitions);
      rows[p].push_back(static_cast<int32_t>(i));
    }
    for (int p = 0; p < partitions; ++p) {
      if (!rows[static_cast<size_t>(p)].empty())
        parts[static_cast<size_t>(p)] = b->Select(rows[static_cast<size_t>(p)]);
    }
    return parts;
  };
}

}  // namespace sluice::exec
