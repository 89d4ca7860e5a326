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

// The subtask (in [0, parallelism)) that a hash edge on `key_columns` sends each row of `batch`
// to: the mapping of MakeHashPartitioner, for restoring keyed state at another parallelism.
void PartitionRows(const batch::Batch& batch, const std::vector<int>& key_columns, int parallelism,
                   std::vector<int>* targets);

// The rows of `batch` that a hash edge on `key_columns` sends to `subtask` of `parallelism`
// (`batch` itself when all of them, nullptr when none).
batch::BatchPtr RowsOfSubtask(const batch::BatchPtr& batch, const std::vector<int>& key_columns,
                              int subtask, int parallelism);

// A runtime partitioner splitting batches by the hash of `key_columns`.
runtime::Partitioner MakeHashPartitioner(std::vector<int> key_columns);

}  // namespace sluice::exec
