// The filesystem sink's S3 store (output_store.h). Not implemented yet: S3 paths are refused
// with a message when the sink opens.

#include "connectors/filesystem/output_store.h"

namespace sluice::connectors::filesystem {

Result<std::unique_ptr<OutputStore>> OpenS3Store(const std::string& url, int64_t part_size) {
  return Status::NotSupported(
      "the filesystem sink cannot write to S3 ('{}') yet; write to a local directory", url);
}

}  // namespace sluice::connectors::filesystem
