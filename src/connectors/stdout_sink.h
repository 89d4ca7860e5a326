#pragma once
// The sink that writes encoded lines to the process's standard output, shared by the `stdout`
// connector and the `preview` connector of bare SELECTs.

#include <memory>
#include <string>

#include "connectors/connector.h"
#include "runtime/dataflow_graph.h"

namespace sluice::connectors {

// Where a redirected stdout or preview sink writes instead of the process's standard output
// (the service's live output streams). Write gets the encoded lines of one batch (each ends in
// '\n') and must not block: the pipeline never waits for a reader.
class LineSink {
 public:
  virtual ~LineSink() = default;
  virtual void Write(const std::string& sink_name, int subtask, std::string_view lines,
                     int64_t rows) = 0;
};

// Replaces every stdout and preview sink of `graph` by one that writes to `target`; returns
// how many it replaced.
int RedirectStdoutSinks(runtime::DataflowGraph* graph, std::shared_ptr<LineSink> target);

// `connector_name` names the factory ("stdout sink", "preview sink").
std::shared_ptr<const runtime::OperatorFactory> MakeStdoutSinkFactory(
    const TableSpec& spec, const std::string& connector_name);

}  // namespace sluice::connectors
