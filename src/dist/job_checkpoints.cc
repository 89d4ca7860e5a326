#include "dist/job_checkpoints.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/time.h"

namespace sluice::dist {

JobCheckpoints::JobCheckpoints(runtime::CheckpointOptions options,
                               const runtime::DataflowGraph& graph,
                               std::function<void(const std::string&)> log)
    : options_(std::move(options)),
      layout_(runtime::CheckpointLayoutOf(graph)),
      log_(std::move(log)),
      store_(std::make_unique<runtime::CheckpointStore>(options_.storage)) {}

Status JobCheckpoints::Prepare() {
  int64_t max_deleted_id = 0;
  std::optional<runtime::LoadedCheckpoint> chosen;
  if (options_.restore_checkpoint) {
    auto loaded = store_->Load(*options_.restore_checkpoint);
    if (!loaded.ok()) {
      return Status::User("cannot restore checkpoint {} of '{}': {}", *options_.restore_checkpoint,
                          location(), loaded.status().message());
    }
    SLUICE_ASSIGN_OR_RETURN(runtime::CheckpointStore::Listing before, store_->List());
    max_deleted_id = before.max_id;  // new ids continue after the abandoned ones
    for (int64_t id : before.complete) {
      if (id > *options_.restore_checkpoint) SLUICE_RETURN_NOT_OK(store_->Delete(id));
    }
    chosen = loaded.MoveValue();
  } else {
    std::vector<std::string> warnings;
    auto latest = store_->LoadLatest(&warnings);
    for (const auto& w : warnings) log_("warning: " + w);
    if (!latest.ok()) {
      if (!options_.ignore_state) return latest.status();
      log_(fmt::format("warning: {}; starting from the beginning (--ignore-state)",
                       latest.status().message()));
    } else {
      chosen = std::move(*latest);
    }
  }
  if (chosen) {
    const runtime::CheckpointMetadata& m = chosen->metadata;
    std::string mismatch;
    if (m.fingerprint != options_.fingerprint) {
      mismatch = fmt::format("was written by a different query (fingerprint {}, this query {})",
                             m.fingerprint, options_.fingerprint);
    } else if (m.operators != layout_.operators) {
      mismatch = fmt::format("was written by a dataflow with other operators ({}; now {})",
                             fmt::join(m.operators, ", "), fmt::join(layout_.operators, ", "));
    }
    if (mismatch.empty()) {
      for (size_t i = 0; i < layout_.identities.size(); ++i) {
        layout_.identities[i].stateful =
            i < m.identities.size() ? m.identities[i].stateful : m.identities.empty();
      }
      last_completed_ = m.checkpoint;
      log_(fmt::format("resuming from checkpoint {} in '{}'", m.checkpoint, location()));
    } else if (options_.ignore_state) {
      log_(fmt::format("checkpoint {} in '{}' {}: starting from the beginning (--ignore-state)",
                       m.checkpoint, location(), mismatch));
    } else {
      // An edited query's state maps by operator identity in `sluice run` (decision 0026); a
      // distributed job restores only its own query's checkpoints for now.
      return Status::User(
          "checkpoint {} in state dir '{}' {}; a distributed job resumes only checkpoints of the "
          "same query: use another state dir, or --ignore-state to start this query from the "
          "beginning",
          m.checkpoint, location(), mismatch);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(runtime::CheckpointStore::Listing listing, store_->List());
  next_id_ = std::max(listing.max_id, max_deleted_id) + 1;
  return Status::Ok();
}

Status JobCheckpoints::Complete(
    int64_t id, runtime::CheckpointKind kind, std::vector<runtime::CheckpointMetadata::File> files,
    std::vector<runtime::CheckpointMetadata::OperatorState> operator_state) {
  runtime::CheckpointMetadata m;
  m.checkpoint = id;
  m.kind = kind;
  m.created_micros = Now().value;
  m.fingerprint = options_.fingerprint;
  m.operators = layout_.operators;
  m.nodes = layout_.nodes;
  m.files = std::move(files);
  m.operator_state = std::move(operator_state);
  std::sort(m.operator_state.begin(), m.operator_state.end(), [](const auto& a, const auto& b) {
    return std::tie(a.operator_id, a.subtask) < std::tie(b.operator_id, b.subtask);
  });
  // An operator that ever wrote a piece has state (as CheckpointCoordinator marks it).
  for (const auto& o : m.operator_state) {
    if (static_cast<size_t>(o.operator_id) < layout_.identities.size()) {
      layout_.identities[static_cast<size_t>(o.operator_id)].stateful = true;
    }
  }
  m.identities = layout_.identities;
  std::sort(m.files.begin(), m.files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  // The commit point of the job's checkpoints.
  SLUICE_RETURN_NOT_OK(store_->WriteMetadata(m));
  // With a lease, the checkpoint is the job's only once the pointer moved under this leader's
  // epoch; a deposed leader's `_metadata` is newer than the pointer, and its successor, which
  // restores from the pointer, deletes it.
  if (fence_) SLUICE_RETURN_NOT_OK(fence_(id));
  last_completed_ = id;
  if (Status st = store_->Retain(options_.keep, id); !st.ok()) {
    log_(fmt::format("warning: cannot remove old checkpoints: {}", st.message()));
  }
  return Status::Ok();
}

}  // namespace sluice::dist
