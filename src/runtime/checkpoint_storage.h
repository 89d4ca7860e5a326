#pragma once
// Where checkpoints are kept. The interface is that of an object store — a flat namespace of
// whole objects under relative keys such as "chk-7/0-1.state" — so that an S3 implementation
// fits it: no partial writes, no appends, no directories (a local implementation creates and
// removes them as needed), and the one atomic operation the checkpoint protocol needs is a Put
// that readers see entirely or not at all (locally: temporary file, fsync, rename, directory
// fsync; on S3 a PUT is atomic by itself).
//
// Threading: implementations are safe to call from several threads at once.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::runtime {

class CheckpointStorage {
 public:
  virtual ~CheckpointStorage() = default;

  // The location, for messages ("/var/lib/sluice/state", "s3://bucket/prefix").
  virtual std::string location() const = 0;
  // Writes `bytes` under `key`, replacing any previous object, durably and atomically: once Put
  // returns OK the object survives a crash; a crash during Put leaves the previous object (or
  // none).
  virtual Status Put(std::string_view key, std::string_view bytes) = 0;
  // The object under `key`, or nullopt when there is none.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // The keys that start with `prefix`, sorted. Leftovers of interrupted Puts may be listed
  // (names containing ".tmp-"); callers ignore names they do not know.
  virtual Result<std::vector<std::string>> List(std::string_view prefix) = 0;
  // Deletes the object under `key`; a missing key is not an error.
  virtual Status Delete(std::string_view key) = 0;
};

// Opens the storage a --state-dir names: a local path or a file:// URL (created when missing),
// or an s3:// URL (s3_storage.h: the bucket must exist; it is probed before this returns).
// Other schemes are user errors.
Result<std::shared_ptr<CheckpointStorage>> OpenCheckpointStorage(std::string_view url);

}  // namespace sluice::runtime
