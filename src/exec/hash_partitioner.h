#pragma once
// Hash partitioning for keyed edges: rows with equal keys always go to the same downstream
// subtask. Keys are hashed column by column (xxHash3, combined), a batch at a time.

#include <vector>

#include "batch/batch.h"
#include "runtime/dataflow_graph.h"

namespace sluice::exec {

// 64-bit hashes of the key columns for every row of `batch` (NULL hashes to a fixed value).
void HashColumns(const batch::Batch& batch, const std::vector<int>& key_columns,
                 std::vector<uint64_t>* hashes);

// A runtime partitioner splitting batches by the hash of `key_columns`.
runtime::Partitioner MakeHashPartitioner(std::vector<int> key_columns);

}  // namespace sluice::exec
