#pragma once
// Where the filesystem sink's files go: a local directory or an S3 prefix. Files are written
// invisibly (staged), made durable (Finish), and made visible by Commit once the checkpoint
// covering them is complete: the two phases of the sink's exactly-once commit.
//
//   local  <root>/<dir>/.<name>.inprogress, fsynced, renamed to <root>/<dir>/<name> (and the
//          directory fsynced) by Commit
//   S3     a multipart upload of <prefix><dir>/<name>, its parts uploaded as the file grows and
//          the last at Finish, completed by Commit
//
// Threading: a store is shared by the sink's subtasks; every call is safe from several threads.
// A StagedFile is used by one thread.

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "common/status.h"
#include "formats/parquet/parquet_writer.h"

namespace sluice::connectors::filesystem {

// A finished file waiting for its checkpoint.
struct PendingFile {
  std::string path;     // relative to the root: "dt=2023-10-09/part-000-1a2b3c4d-00003.parquet"
  std::string staging;  // local: the staged file (relative path); S3: the upload id
  int64_t size = 0;
  std::string parts;  // S3: the ETags of the parts, in order, '\n'-separated
};

// An open file as a checkpoint records it.
struct OpenFileState {
  std::string path;     // as PendingFile's
  std::string staging;  // as PendingFile's
  int64_t size = 0;     // the valid length: bytes appended before the checkpoint
  std::string parts;    // S3: the ETags of the parts sent, in order, '\n'-separated
  std::string tail;     // S3: the bytes after the last part, not sent yet
};

class StagedFile : public formats::ByteSink {
 public:
  // Makes every appended byte durable, still invisible. The file takes no more bytes.
  virtual Result<PendingFile> Finish() = 0;
  // Makes every appended byte durable (or, S3, recorded in the returned tail) and returns the
  // state Resume goes on from; the file stays open.
  virtual Result<OpenFileState> Checkpoint() = 0;
  virtual int64_t size() const = 0;
};

class OutputStore {
 public:
  virtual ~OutputStore() = default;
  virtual std::string location() const = 0;
  // A new staged file for `path` (relative to the root).
  virtual Result<std::unique_ptr<StagedFile>> Create(const std::string& path) = 0;
  // Reopens a staged file where a checkpoint left it (OpenFileState): bytes appended after the
  // checkpoint are dropped. An error when the staged file (upload) is gone or does not hold
  // what the checkpoint recorded.
  virtual Result<std::unique_ptr<StagedFile>> Resume(const OpenFileState& state) = 0;
  // Makes a finished file visible. Idempotent: a file already visible with the recorded size
  // (its commit happened before a crash) is done; a staged file that is gone while nothing of
  // its size is visible is an error (the output was changed behind the sink's back).
  virtual Status Commit(const PendingFile& file) = 0;
  // Removes what earlier runs left staged (files written after their last checkpoint), except
  // the staged files named in `keep` (S3: by upload id or object key): every staged file whose
  // name does not contain `run`.
  virtual Status CleanUp(const std::string& run, const std::set<std::string>& keep) = 0;
};

// Creates `root` when missing.
Result<std::unique_ptr<OutputStore>> OpenLocalStore(const std::string& root);
// `url`: s3://bucket/prefix[?endpoint=...] as for --state-dir (runtime/s3_storage.h).
Result<std::unique_ptr<OutputStore>> OpenS3Store(const std::string& url, int64_t part_size);

// The S3 client's messages name the --state-dir they were written for; for a table's `path`
// they name the option instead.
Status AsPathError(const Status& st);

}  // namespace sluice::connectors::filesystem
