#pragma once
// Lookup join against a bounded side table (JOIN t FOR SYSTEM_TIME AS OF probe.ts AS s ON ...).
//
// Input 1 (the side) is a bounded table, broadcast to every subtask: each subtask reads all of
// it into a hash table on the join keys. Each side subtask marks the end of its rows with a
// marker row (LookupSideEndFactory, chained after the side's last operator, appends a BOOLEAN
// column that is NULL on data rows and TRUE on the marker). Once every side sender's marker
// has arrived the table is complete.
// Input 0 (the probe) is an append-only stream. Its rows are joined with the table as they
// arrive (INNER, or LEFT: padded with NULLs when no side row matches); rows arriving before
// the table is complete are buffered, and the watermark is held until then. Output rows keep
// the probe row's event time; the output is append-only.
//
// Checkpoints: subtask 0 saves the side table and whether it is complete (every subtask holds
// the same table: barriers are aligned and the side is broadcast); every subtask saves its
// buffered probe rows, which are spread over the new subtasks by key hash on restore. A side
// that was not complete is read on from the source's saved position and every side sender
// marks its end again in the resumed run.

#include <memory>
#include <string>

#include "exec/join.h"
#include "runtime/operator.h"

namespace sluice::exec {

class LookupJoinFactory : public runtime::OperatorFactory {
 public:
  // spec.right_schema: the side's columns without the end marker column (which follows them in
  // the batches of input 1). `side_senders`: how many subtasks send the side's rows.
  LookupJoinFactory(JoinSpec spec, int side_senders)
      : spec_(std::move(spec)), side_senders_(side_senders) {}
  std::string name() const override { return "lookup_join"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  JoinSpec spec_;
  int side_senders_;
};

// Passes the side table's rows on with an end-marker column appended (NULL), and at the end
// of input emits one marker row (TRUE, every other column NULL). Stateless.
class LookupSideEndFactory : public runtime::OperatorFactory {
 public:
  explicit LookupSideEndFactory(types::SchemaPtr input_schema);
  std::string name() const override { return "lookup_side_end"; }
  std::string Describe() const override { return "lookup side end marker"; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;
  const types::SchemaPtr& output_schema() const { return output_schema_; }

 private:
  types::SchemaPtr input_schema_;
  types::SchemaPtr output_schema_;
};

}  // namespace sluice::exec
