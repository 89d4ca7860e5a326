#include "cli/pipeline.h"

namespace sluice::cli {

Status RunSql(std::string_view sql, const RunOptions& options, const std::atomic<bool>* stop,
              RunReport* report) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<pipeline::Runner> runner,
                          pipeline::Runner::Prepare(sql, options));
  Status st = runner->Run(stop);
  if (report != nullptr) *report = runner->Report();
  return st;
}

}  // namespace sluice::cli
