#include "api/streams.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "pipeline/runner.h"
#include "runtime/checkpoint_metadata.h"
#include "runtime/checkpoint_storage.h"
#include "runtime/checkpoint_store.h"
#include "runtime/operator_identity.h"

namespace sluice::api {

Result<std::vector<CheckpointInfo>> ListCheckpoints(const std::string& state_dir) {
  SLUICE_ASSIGN_OR_RETURN(auto storage, runtime::OpenCheckpointStorage(state_dir));
  runtime::CheckpointStore store(storage);
  SLUICE_ASSIGN_OR_RETURN(runtime::CheckpointStore::Listing listing, store.List());
  std::vector<CheckpointInfo> out;
  for (int64_t id : listing.complete) {
    std::string key =
        runtime::CheckpointDirName(id) + "/" + std::string(runtime::kMetadataFileName);
    SLUICE_ASSIGN_OR_RETURN(auto text, storage->Get(key));
    if (!text) continue;  // removed meanwhile by retention
    auto m = runtime::CheckpointMetadata::Decode(*text, key);
    if (!m.ok()) continue;
    CheckpointInfo info;
    info.epoch = id;
    switch (m->kind) {
      case runtime::CheckpointKind::kPeriodic:
        info.kind = "periodic";
        break;
      case runtime::CheckpointKind::kStop:
        info.kind = "stop";
        break;
      case runtime::CheckpointKind::kEnd:
        info.kind = "end";
        break;
    }
    info.finish_time = m->created_micros;
    info.fingerprint = m->fingerprint;
    std::map<int, std::string> chain;
    std::map<int, int> node_of;  // by operator id
    for (const auto& n : m->nodes) {
      for (int op : n.operator_ids) node_of[op] = n.id;
    }
    for (const auto& o : m->operator_state) {
      CheckpointInfo::OperatorState s;
      s.operator_id = o.operator_id;
      if (static_cast<size_t>(o.operator_id) < m->operators.size()) {
        s.name = m->operators[static_cast<size_t>(o.operator_id)];
      }
      s.node = node_of.count(o.operator_id) ? node_of[o.operator_id] : -1;
      s.subtask = o.subtask;
      s.bytes = static_cast<int64_t>(o.bytes);
      info.operator_state.push_back(std::move(s));
    }
    for (const auto& n : m->nodes) {
      std::string names;
      for (int op : n.operator_ids) {
        if (!names.empty()) names += " -> ";
        if (op >= 0 && static_cast<size_t>(op) < m->operators.size()) names += m->operators[op];
      }
      chain[n.id] = names;
    }
    for (const auto& f : m->files) {
      info.bytes += static_cast<int64_t>(f.size);
      // Own files are "<node>-<subtask>.state"; earlier checkpoints' ("chk-5/...") count in bytes
      // (they are part of what a restore reads) but are listed under the checkpoint that wrote
      // them.
      if (f.name.find('/') != std::string::npos) continue;
      CheckpointInfo::Part part;
      if (std::sscanf(f.name.c_str(), "%d-%d.state", &part.node, &part.subtask) != 2) continue;
      part.bytes = static_cast<int64_t>(f.size);
      part.operators = chain[part.node];
      info.parts.push_back(std::move(part));
    }
    out.push_back(std::move(info));
  }
  return out;
}

Status CheckStateFits(const std::string& query, bool preview, const std::string& state_dir,
                      std::optional<int64_t> epoch, bool allow_non_restored_state) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<CheckpointInfo> listed, ListCheckpoints(state_dir));
  const CheckpointInfo* chosen = nullptr;
  for (const auto& c : listed) {
    if (!epoch || c.epoch == *epoch) chosen = &c;
  }
  if (chosen == nullptr) return Status::Ok();
  pipeline::RunOptions ro;
  ro.preview = preview;
  SLUICE_ASSIGN_OR_RETURN(pipeline::Compiled compiled, pipeline::PlanAndCompile(query, ro));
  std::string fingerprint = runtime::QueryFingerprint(compiled.plan.ToString());
  if (fingerprint == chosen->fingerprint) return Status::Ok();
  // An edited query: state follows the operators' identities.
  SLUICE_ASSIGN_OR_RETURN(auto storage, runtime::OpenCheckpointStorage(state_dir));
  std::string key =
      runtime::CheckpointDirName(chosen->epoch) + "/" + std::string(runtime::kMetadataFileName);
  SLUICE_ASSIGN_OR_RETURN(auto text, storage->Get(key));
  if (!text) return Status::Ok();  // removed meanwhile by retention: the run decides
  SLUICE_ASSIGN_OR_RETURN(runtime::CheckpointMetadata m,
                          runtime::CheckpointMetadata::Decode(*text, key));
  if (!m.identities.empty()) {
    runtime::StateMapping mapping =
        runtime::MapOperatorState(m, runtime::OperatorIdentities(compiled.graph));
    if (mapping.dropped.empty() || allow_non_restored_state) return Status::Ok();
    return runtime::RefuseDroppedState(
        chosen->epoch, mapping,
        "restart with {\"allowNonRestoredState\": true} to drop that state and start those "
        "operators empty (the others keep theirs), or with {\"ignoreState\": true} to run the "
        "new query from the beginning");
  }
  // A checkpoint of a build before operator identities: only the same query restores it.
  return Status::User(
      "the pipeline's query changed since checkpoint {} was taken, and its state cannot be "
      "carried over: Sluice restores state only into the query that wrote it (the same "
      "optimized plan; the parallelism may change). Restart with {{\"ignoreState\": true}} to "
      "run the new query from the beginning, or PATCH the previous query back",
      chosen->epoch);
}

namespace {

class OutputEventStream : public EventStream {
 public:
  OutputEventStream(std::shared_ptr<service::OutputStream> output, int64_t after_id,
                    size_t batch_events, std::shared_ptr<void> hold)
      : output_(std::move(output)),
        cursor_(after_id),
        batch_events_(batch_events),
        hold_(std::move(hold)) {}

  std::string Poll(bool* done) override {
    std::string text;
    int64_t after = cursor_;
    auto r = output_->ReadText(cursor_, batch_events_, &text, &cursor_);
    if (r.lagged) {
      boost::json::object o;
      o["message"] = fmt::format(
          "this client fell behind: rows {} to {} were dropped before it read them; reconnect "
          "(without Last-Event-ID to start at the oldest rows held)",
          after + 1, r.first_id - 1);
      o["nextId"] = r.first_id;
      *done = true;
      return fmt::format("event: lagged\ndata: {}\n\n", boost::json::serialize(o));
    }
    if (r.closed) {
      text += "event: end\ndata: {}\n\n";
      *done = true;
    }
    return text;
  }

 private:
  std::shared_ptr<service::OutputStream> output_;
  int64_t cursor_;
  size_t batch_events_;
  std::shared_ptr<void> hold_;
};

}  // namespace

std::shared_ptr<EventStream> MakeOutputEventStream(std::shared_ptr<service::OutputStream> output,
                                                   int64_t after_id, size_t batch_events,
                                                   std::shared_ptr<void> hold) {
  return std::make_shared<OutputEventStream>(std::move(output), after_id, batch_events,
                                             std::move(hold));
}

}  // namespace sluice::api
