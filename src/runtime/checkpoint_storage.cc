#include "runtime/checkpoint_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "runtime/s3_storage.h"

namespace sluice::runtime {

namespace {

namespace fs = std::filesystem;

// A directory on a local (or mounted) file system.
class LocalCheckpointStorage : public CheckpointStorage {
 public:
  explicit LocalCheckpointStorage(fs::path root) : root_(std::move(root)) {}

  std::string location() const override { return root_.string(); }

  Status Put(std::string_view key, std::string_view bytes) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    fs::path target = root_ / fs::path(std::string(key));
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Failed("create directory", target.parent_path().string(), ec.value());
    fs::path tmp = target;
    tmp += fmt::format(".tmp-{}-{}", getpid(), counter_.fetch_add(1));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Failed("create", tmp.string(), errno);
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return Failed("write", tmp.string(), err);
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Failed("sync", tmp.string(), err);
    }
    if (::close(fd) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Failed("close", tmp.string(), err);
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Failed("rename", target.string(), err);
    }
    return SyncDirectory(target.parent_path());
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    fs::path path = root_ / fs::path(std::string(key));
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::optional<std::string>();
      return Failed("open", path.string(), errno);
    }
    std::string out;
    char buf[1 << 16];
    while (true) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        return Failed("read", path.string(), err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return std::optional<std::string>(std::move(out));
  }

  Result<std::vector<std::string>> List(std::string_view prefix) override {
    std::vector<std::string> keys;
    std::error_code ec;
    fs::recursive_directory_iterator it(root_, ec), end;
    if (ec) return Failed("list", root_.string(), ec.value());
    for (; it != end; it.increment(ec)) {
      if (ec) return Failed("list", root_.string(), ec.value());
      if (!it->is_regular_file(ec)) continue;
      std::string key = it->path().lexically_relative(root_).generic_string();
      if (key.compare(0, prefix.size(), prefix) == 0) keys.push_back(std::move(key));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Status Delete(std::string_view key) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    fs::path path = root_ / fs::path(std::string(key));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return Failed("delete", path.string(), errno);
    // Directories exist only to hold objects: remove the ones left empty.
    for (fs::path dir = path.parent_path(); dir != root_ && dir.has_relative_path();
         dir = dir.parent_path()) {
      if (::rmdir(dir.c_str()) != 0) break;  // not empty (or already gone)
    }
    return Status::Ok();
  }

 private:
  static Status CheckKey(std::string_view key) {
    if (key.empty() || key.front() == '/' || key.find("..") != std::string_view::npos) {
      return Status::Internal("bad checkpoint storage key '{}'", key);
    }
    return Status::Ok();
  }

  static Status Failed(const char* what, const std::string& path, int err) {
    return Status::Io("checkpoint storage: cannot {} '{}': {}", what, path, std::strerror(err));
  }

  static Status SyncDirectory(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Failed("open directory", dir.string(), errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Failed("sync directory", dir.string(), err);
    return Status::Ok();
  }

  fs::path root_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace

Result<std::shared_ptr<CheckpointStorage>> OpenCheckpointStorage(std::string_view url) {
  std::string path(url);
  if (url.rfind("s3://", 0) == 0) {
    SLUICE_ASSIGN_OR_RETURN(S3Config config, ParseS3Url(url));
    return OpenS3CheckpointStorage(config);
  }
  if (url.rfind("file://", 0) == 0) {
    path = std::string(url.substr(7));
  } else if (auto colon = url.find("://"); colon != std::string_view::npos) {
    return Status::User(
        "--state-dir '{}': unknown storage scheme '{}'; use a local directory, a file:// or an "
        "s3:// URL",
        url, url.substr(0, colon));
  }
  if (path.empty()) return Status::User("--state-dir is empty");
  std::error_code ec;
  fs::path root = fs::absolute(fs::path(path), ec).lexically_normal();
  if (ec) return Status::User("--state-dir '{}': {}", url, ec.message());
  if (fs::exists(root, ec) && !fs::is_directory(root, ec)) {
    return Status::User("--state-dir '{}' is not a directory", url);
  }
  fs::create_directories(root, ec);
  if (ec) return Status::User("--state-dir '{}': cannot create it: {}", url, ec.message());
  if (::access(root.c_str(), W_OK | X_OK) != 0) {
    return Status::User("--state-dir '{}' is not writable: {}", url, std::strerror(errno));
  }
  // lexically_normal leaves a trailing separator on "dir/"; keys are joined below it.
  std::string s = root.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return std::shared_ptr<CheckpointStorage>(std::make_shared<LocalCheckpointStorage>(fs::path(s)));
}

}  // namespace sluice::runtime
