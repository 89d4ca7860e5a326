// The filesystem sink's local directory store (output_store.h).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "connectors/filesystem/output_store.h"

namespace sluice::connectors::filesystem {

namespace {

namespace fs = std::filesystem;

constexpr size_t kWriteBuffer = 1 << 20;
constexpr std::string_view kStagedSuffix = ".inprogress";

Status Errno(const std::string& what, const std::string& path) {
  return Status::Io("cannot {} '{}': {}", what, path, std::strerror(errno));
}

Status SyncDirectory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir.string());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("sync directory", dir.string());
  return Status::Ok();
}

// "<dir>/.<name>.inprogress" for "<dir>/<name>".
std::string StagedName(const std::string& path) {
  fs::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + std::string(kStagedSuffix))).string();
}

class LocalStagedFile : public StagedFile {
 public:
  LocalStagedFile(std::string path, std::string staged, std::string full, FILE* f, int64_t size = 0)
      : path_(std::move(path)),
        staged_(std::move(staged)),
        full_(std::move(full)),
        file_(f),
        size_(size) {
    std::setvbuf(file_, nullptr, _IOFBF, kWriteBuffer);
  }
  ~LocalStagedFile() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Append(std::string_view bytes) override {
    if (file_ == nullptr) return Status::Internal("append to finished file '{}'", full_);
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
      return Errno("write", full_);
    }
    size_ += static_cast<int64_t>(bytes.size());
    return Status::Ok();
  }
  Result<PendingFile> Finish() override {
    if (file_ == nullptr) return Status::Internal("'{}' finished twice", full_);
    bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    ok = std::fclose(file_) == 0 && ok;
    file_ = nullptr;
    if (!ok) return Errno("write", full_);
    return PendingFile{path_, staged_, size_, ""};
  }
  Result<OpenFileState> Checkpoint() override {
    if (file_ == nullptr) return Status::Internal("checkpoint of finished file '{}'", full_);
    if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) return Errno("write", full_);
    return OpenFileState{path_, staged_, size_, "", ""};
  }
  int64_t size() const override { return size_; }

 private:
  std::string path_, staged_, full_;
  FILE* file_;
  int64_t size_;
};

class LocalStore : public OutputStore {
 public:
  explicit LocalStore(fs::path root) : root_(std::move(root)) {}
  std::string location() const override { return root_.string(); }

  Result<std::unique_ptr<StagedFile>> Create(const std::string& path) override {
    const std::string staged = StagedName(path);
    const fs::path full = root_ / staged;
    std::error_code ec;
    fs::create_directories(full.parent_path(), ec);
    if (ec) {
      return Status::Io("cannot create directory '{}': {}", full.parent_path().string(),
                        ec.message());
    }
    FILE* f = std::fopen(full.c_str(), "w");
    if (f == nullptr) return Errno("create", full.string());
    return std::unique_ptr<StagedFile>(
        std::make_unique<LocalStagedFile>(path, staged, full.string(), f));
  }

  Result<std::unique_ptr<StagedFile>> Resume(const OpenFileState& state) override {
    const fs::path full = root_ / state.staging;
    FILE* f = std::fopen(full.c_str(), "r+");
    if (f == nullptr) {
      if (errno != ENOENT) return Errno("reopen", full.string());
      return Status::Io(
          "cannot resume '{}': its staged file '{}' is gone; the output directory was changed "
          "outside the pipeline (restore from a checkpoint taken after that, or start afresh "
          "without the state directory)",
          (root_ / state.path).string(), full.string());
    }
    struct stat st;
    if (::fstat(fileno(f), &st) != 0 || st.st_size < state.size) {
      std::fclose(f);
      return Status::Io(
          "cannot resume '{}': its staged file '{}' holds fewer bytes than the checkpoint "
          "recorded ({}); the output directory was changed outside the pipeline",
          (root_ / state.path).string(), full.string(), state.size);
    }
    // Bytes written after the checkpoint go; their rows come again from the sources.
    if (::ftruncate(fileno(f), state.size) != 0 || std::fseek(f, state.size, SEEK_SET) != 0) {
      Status err = Errno("truncate", full.string());
      std::fclose(f);
      return err;
    }
    return std::unique_ptr<StagedFile>(
        std::make_unique<LocalStagedFile>(state.path, state.staging, full.string(), f, state.size));
  }

  Status Commit(const PendingFile& file) override {
    const fs::path from = root_ / file.staging;
    const fs::path to = root_ / file.path;
    if (std::rename(from.c_str(), to.c_str()) == 0) return SyncDirectory(to.parent_path());
    if (errno != ENOENT) return Errno("rename", from.string());
    // Committed before a crash?
    struct stat st;
    if (::stat(to.c_str(), &st) == 0 && st.st_size == file.size) return Status::Ok();
    return Status::Io(
        "cannot commit '{}': its staged file '{}' is gone and no file of {} bytes is there; the "
        "output directory was changed outside the pipeline",
        to.string(), from.string(), file.size);
  }

  Status CleanUp(const std::string& run, const std::set<std::string>& keep) override {
    std::error_code ec;
    if (!fs::exists(root_, ec)) return Status::Ok();
    for (auto it = fs::recursive_directory_iterator(root_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.size() < kStagedSuffix.size() + 1 || name[0] != '.' ||
          name.compare(name.size() - kStagedSuffix.size(), kStagedSuffix.size(), kStagedSuffix) !=
              0 ||
          name.find(run) != std::string::npos) {
        continue;
      }
      const std::string relative = fs::relative(it->path(), root_, ec).string();
      if (keep.count(relative)) continue;
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
    if (ec) return Status::Io("cannot list '{}': {}", root_.string(), ec.message());
    return Status::Ok();
  }

 private:
  fs::path root_;
};

}  // namespace

Result<std::unique_ptr<OutputStore>> OpenLocalStore(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec || !fs::is_directory(root)) {
    return Status::User("cannot use '{}' as an output directory: {}", root,
                        ec ? ec.message() : "it is not a directory");
  }
  return std::unique_ptr<OutputStore>(std::make_unique<LocalStore>(fs::path(root)));
}

}  // namespace sluice::connectors::filesystem
