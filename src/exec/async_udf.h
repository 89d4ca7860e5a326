#pragma once
// An async user-defined function over a stream (CREATE ASYNC FUNCTION ... LANGUAGE cpp): each
// input row starts one call of the function on its argument columns; the output is the input's
// columns followed by the call's result, once the call completes.
//
// Concurrency: at most max_concurrency calls are in flight per subtask; rows beyond wait, and
// ProcessBatch blocks its task (backpressure upstream) until every row of its batch has started.
// Completions arrive on the function's threads and wake the task, which emits them in Poll.
// Ordered: rows leave in input order (a slow call holds back the rows behind it). Unordered:
// rows leave as they complete, but never across a watermark: a watermark is emitted once every
// row that arrived before it has left, and no row that arrived after it leaves before it (so no
// row becomes late downstream in either mode).
// Timeouts: a call still in flight after `timeout` fails the pipeline (on_timeout 'error') or
// gives NULL (on_timeout 'null'); its completion, if it comes later, is ignored.
// Checkpoints: the rows whose results have not left yet (in flight, waiting, or completed but
// held back) are saved with the pending watermark; on restore they are started again, so each
// row's result goes downstream exactly once. On a rescale, old subtask o's rows go to new
// subtask o % parallelism.
// Append-only inputs only (the planner refuses updating ones).

#include <memory>
#include <string>
#include <vector>

#include "runtime/operator.h"
#include "types/schema.h"
#include "udf/async_function.h"

namespace sluice::exec {

class AsyncUdfFactory : public runtime::OperatorFactory {
 public:
  // `args`: the input columns the function takes, in order. The output schema is the input's
  // columns followed by the result.
  AsyncUdfFactory(std::shared_ptr<const udf::AsyncFunction> fn, std::vector<int> args,
                  types::SchemaPtr output_schema)
      : fn_(std::move(fn)), args_(std::move(args)), output_schema_(std::move(output_schema)) {}
  std::string name() const override { return "async_udf"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  std::shared_ptr<const udf::AsyncFunction> fn_;
  std::vector<int> args_;
  types::SchemaPtr output_schema_;
};

}  // namespace sluice::exec
