#include "cli/nexmark_command.h"

#include <algorithm>
#include <memory>
#include <string>

#include "connectors/nexmark.h"
#include "formats/format.h"

namespace sluice::cli {

Status NexmarkGenerate(const NexmarkGenerateOptions& options, std::FILE* out) {
  namespace nx = connectors::nexmark;
  auto schema = std::make_shared<const types::Schema>(nx::NexmarkSchema());
  formats::FormatOptions format;
  format.format = "json";
  SLUICE_ASSIGN_OR_RETURN(auto encoder, formats::MakeEncoder(format, *schema));
  nx::GeneratorOptions generator;
  if (options.rate > 0) generator.nominal_rate = options.rate;
  generator.seed = options.seed;
  constexpr uint64_t kBatch = 4096;
  std::string text;
  for (uint64_t first = 0; first < options.events; first += kBatch) {
    auto n = static_cast<int64_t>(std::min(kBatch, options.events - first));
    auto batch = nx::GenerateBatch(first, 1, n, generator, schema);
    text.clear();
    SLUICE_RETURN_NOT_OK(encoder->Encode(*batch, &text));
    if (std::fwrite(text.data(), 1, text.size(), out) != text.size()) {
      return Status::Io("cannot write the events: output closed");
    }
  }
  if (std::fflush(out) != 0) return Status::Io("cannot write the events: output closed");
  return Status::Ok();
}

}  // namespace sluice::cli
