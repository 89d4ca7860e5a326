// The filesystem sink's S3 store (output_store.h): every file is a multipart upload, its parts
// sent as the file grows (multipart.target_part_size) and the last at Finish; Commit completes
// the upload. A checkpoint of an open file records the parts' ETags and the tail not sent yet;
// Resume checks the parts against ListParts (a part uploaded after the checkpoint is replaced
// when its number is sent again, and Complete names only the recorded parts). A commit whose upload
// the server no longer knows (completed before a crash) checks that the object is there with the
// recorded size; CleanUp aborts the uploads that earlier runs left open.

#include <algorithm>

#include <fmt/format.h>

#include "connectors/filesystem/output_store.h"
#include "runtime/s3_storage.h"

namespace sluice::connectors::filesystem {

namespace {

class S3StagedFile : public StagedFile {
 public:
  S3StagedFile(std::shared_ptr<runtime::S3ObjectStore> s3, std::string path, std::string upload,
               int64_t part_size, std::vector<std::string> etags = {}, std::string tail = {},
               int64_t size = 0)
      : s3_(std::move(s3)),
        path_(std::move(path)),
        upload_(std::move(upload)),
        part_size_(static_cast<size_t>(part_size)),
        buffer_(std::move(tail)),
        etags_(std::move(etags)),
        size_(size) {}

  Status Append(std::string_view bytes) override {
    buffer_.append(bytes);
    size_ += static_cast<int64_t>(bytes.size());
    if (buffer_.size() >= part_size_) return SendPart();
    return Status::Ok();
  }

  Result<PendingFile> Finish() override {
    if (!buffer_.empty() || etags_.empty()) SLUICE_RETURN_NOT_OK(SendPart());
    return PendingFile{path_, upload_, size_, JoinedEtags()};
  }

  Result<OpenFileState> Checkpoint() override {
    return OpenFileState{path_, upload_, size_, JoinedEtags(), buffer_};
  }

  int64_t size() const override { return size_; }

 private:
  std::string JoinedEtags() const {
    std::string parts;
    for (const std::string& e : etags_) {
      if (!parts.empty()) parts.push_back('\n');
      parts += e;
    }
    return parts;
  }

  Status SendPart() {
    SLUICE_ASSIGN_OR_RETURN(
        std::string etag,
        s3_->UploadPart(path_, upload_, static_cast<int>(etags_.size()) + 1, buffer_));
    etags_.push_back(std::move(etag));
    buffer_.clear();
    return Status::Ok();
  }

  std::shared_ptr<runtime::S3ObjectStore> s3_;
  std::string path_, upload_;
  size_t part_size_;
  std::string buffer_;
  std::vector<std::string> etags_;
  int64_t size_ = 0;
};

std::vector<std::string> SplitEtags(std::string_view rest) {
  std::vector<std::string> etags;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    etags.emplace_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  return etags;
}

// An ETag without the quotes some servers put around it in one answer and not in another.
std::string_view Unquoted(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

class S3Store : public OutputStore {
 public:
  S3Store(std::shared_ptr<runtime::S3ObjectStore> s3, int64_t part_size)
      : s3_(std::move(s3)), part_size_(part_size) {}
  std::string location() const override { return s3_->location(); }

  Result<std::unique_ptr<StagedFile>> Create(const std::string& path) override {
    SLUICE_ASSIGN_OR_RETURN(std::string upload, s3_->CreateMultipartUpload(path));
    return std::unique_ptr<StagedFile>(
        std::make_unique<S3StagedFile>(s3_, path, std::move(upload), part_size_));
  }

  Result<std::unique_ptr<StagedFile>> Resume(const OpenFileState& state) override {
    std::vector<std::string> etags = SplitEtags(state.parts);
    // Is the upload still in progress? Listed among the object's uploads (s3proxy answers
    // ListParts of an aborted upload with an empty list, not NoSuchUpload), then its parts.
    SLUICE_ASSIGN_OR_RETURN(auto uploads, s3_->ListMultipartUploads(state.path));
    std::optional<std::vector<std::pair<int, std::string>>> listed;
    if (std::any_of(uploads.begin(), uploads.end(), [&](const auto& u) {
          return u.first == state.path && u.second == state.staging;
        })) {
      SLUICE_ASSIGN_OR_RETURN(listed, s3_->ListParts(state.path, state.staging));
    }
    if (!listed && etags.empty()) {
      // Every byte the checkpoint covers is in its tail: the file starts again as a new upload
      // of the same object (uploads of it that earlier restores started are aborted).
      for (const auto& [key, upload] : uploads) {
        if (key == state.path) SLUICE_RETURN_NOT_OK(s3_->AbortMultipartUpload(key, upload));
      }
      SLUICE_ASSIGN_OR_RETURN(std::string upload, s3_->CreateMultipartUpload(state.path));
      return std::unique_ptr<StagedFile>(
          std::make_unique<S3StagedFile>(s3_, state.path, std::move(upload), part_size_,
                                         std::vector<std::string>{}, state.tail, state.size));
    }
    if (!listed) {
      return Status::Io(
          "cannot resume '{}/{}': its upload {} is gone, with the {} part(s) the checkpoint "
          "recorded; the bucket was changed outside the pipeline (or its lifecycle rules abort "
          "incomplete uploads sooner than files roll)",
          location(), state.path, state.staging, etags.size());
    }
    // Every recorded part must be there with its ETag (Arroyo's recovery bug was resuming
    // without looking); parts sent after the checkpoint are overwritten as the file goes on.
    for (size_t i = 0; i < etags.size(); ++i) {
      const int number = static_cast<int>(i) + 1;
      auto it = std::find_if(listed->begin(), listed->end(),
                             [&](const auto& p) { return p.first == number; });
      if (it == listed->end() || Unquoted(it->second) != Unquoted(etags[i])) {
        return Status::Io(
            "cannot resume '{}/{}': part {} of its upload {} {} on the server; the bucket was "
            "changed outside the pipeline",
            location(), state.path, number, state.staging,
            it == listed->end() ? "is missing" : "has another ETag than the checkpoint recorded");
      }
    }
    return std::unique_ptr<StagedFile>(std::make_unique<S3StagedFile>(
        s3_, state.path, state.staging, part_size_, std::move(etags), state.tail, state.size));
  }

  Status Commit(const PendingFile& file) override {
    std::vector<std::string> etags = SplitEtags(file.parts);
    SLUICE_ASSIGN_OR_RETURN(bool completed,
                            s3_->CompleteMultipartUpload(file.path, file.staging, etags));
    if (completed) return Status::Ok();
    // The server no longer knows the upload: completed before a crash, if the object is there
    // whole.
    SLUICE_ASSIGN_OR_RETURN(std::optional<int64_t> size, s3_->ObjectSize(file.path));
    if (size && *size == file.size) return Status::Ok();
    return Status::Io(
        "cannot commit '{}/{}': its upload {} is gone and {}; the bucket was changed outside "
        "the pipeline (or its lifecycle rules abort incomplete uploads sooner than checkpoints "
        "complete)",
        location(), file.path, file.staging,
        size ? fmt::format("the object has {} bytes, not {}", *size, file.size)
             : std::string("no object is there"));
  }

  Status CleanUp(const std::string& run, const std::set<std::string>& keep) override {
    SLUICE_ASSIGN_OR_RETURN(auto uploads, s3_->ListMultipartUploads(""));
    for (const auto& [key, upload] : uploads) {
      // `keep` names the uploads and the objects of the files a checkpoint recorded (an upload
      // restarted by Resume has an id no checkpoint knows yet).
      if (key.find(run) != std::string::npos || keep.count(upload) || keep.count(key)) continue;
      SLUICE_RETURN_NOT_OK(s3_->AbortMultipartUpload(key, upload));
    }
    return Status::Ok();
  }

 private:
  std::shared_ptr<runtime::S3ObjectStore> s3_;
  int64_t part_size_;
};

}  // namespace

Status AsPathError(const Status& st) {
  if (st.ok()) return st;
  std::string m = st.message();
  for (size_t at = m.find("--state-dir"); at != std::string::npos; at = m.find("--state-dir")) {
    m.replace(at, std::string_view("--state-dir").size(), "path");
  }
  return Status(st.kind(), std::move(m));
}

Result<std::unique_ptr<OutputStore>> OpenS3Store(const std::string& url, int64_t part_size) {
  auto config = runtime::ParseS3Url(url);
  if (!config.ok()) return AsPathError(config.status());
  auto s3 = runtime::OpenS3ObjectStore(*config);
  if (!s3.ok()) return AsPathError(s3.status());
  return std::unique_ptr<OutputStore>(std::make_unique<S3Store>(std::move(*s3), part_size));
}

}  // namespace sluice::connectors::filesystem
