#include "udf/compiler.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

extern char** environ;

namespace sluice::udf {

namespace {

namespace fs = std::filesystem;

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string CacheDir() {
  if (const char* d = std::getenv("SLUICE_UDF_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/sluice/udf";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/sluice/udf";
  return fmt::format("/tmp/sluice-udf-{}", getuid());
}

std::string Compiler() {
  if (const char* c = std::getenv("SLUICE_UDF_CXX"); c && *c) return c;
  return "c++";
}

std::vector<std::string> Flags() {
  std::vector<std::string> flags = {"-std=c++20",
                                    "-O3",
                                    "-fPIC",
                                    "-shared",
                                    "-fvisibility=hidden",
                                    "-fdiagnostics-plain-output",
                                    "-fmax-errors=10"};
#if defined(__x86_64__)
  flags.push_back("-march=x86-64-v2");  // as Sluice itself is built
#endif
  return flags;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv with stdout and stderr to `output_path`; the exit status, or an Io error.
Result<int> Run(const std::vector<std::string>& argv, const std::string& output_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The C locale: plain ASCII quotes and English messages, which Sluice reformats.
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("LC_ALL=") || kv.starts_with("LANG=") || kv.starts_with("LANGUAGE=")) {
      continue;
    }
    env_text.emplace_back(kv);
  }
  env_text.emplace_back("LC_ALL=C");
  std::vector<char*> env;
  for (auto& kv : env_text) env.push_back(kv.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Status::Io(
        "cannot run the C++ compiler '{}' for a LANGUAGE cpp function: {} (install "
        "g++, or set SLUICE_UDF_CXX to a compiler)",
        argv[0], std::strerror(rc));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::Io("waiting for the C++ compiler: {}", std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// `c++ -dumpfullversion` and the compiler's path: part of the cache key, so a compiler upgrade
// recompiles. Asked once per process.
Result<std::string> CompilerIdentity(const std::string& dir) {
  static std::mutex mu;
  static std::string identity;
  std::lock_guard lock(mu);
  if (!identity.empty()) return identity;
  std::string out = fmt::format("{}/version-{}.txt", dir, getpid());
  SLUICE_ASSIGN_OR_RETURN(int rc, Run({Compiler(), "-dumpfullversion", "-dumpversion"}, out));
  std::string version = ReadFile(out);
  fs::remove(out);
  if (rc != 0) {
    return Status::Io("the C++ compiler '{}' does not work (exit {}): {}", Compiler(), rc, version);
  }
  identity = Compiler() + " " + version;
  return identity;
}

}  // namespace

Result<CompileResult> CompileSharedLibrary(const std::string& source,
                                           const std::string& unit_name) {
  const std::string dir = CacheDir();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::Io("cannot create the UDF cache directory '{}': {} (set SLUICE_UDF_CACHE_DIR)",
                      dir, ec.message());
  }
  SLUICE_ASSIGN_OR_RETURN(std::string compiler, CompilerIdentity(dir));
  const std::string header = UdfHeaderText();
  const std::vector<std::string> flags = Flags();
  std::string key_text =
      fmt::format("{}\n{}\n{}\n{}\n{}", compiler, fmt::join(flags, " "), unit_name, header, source);
  const std::string key = Sha256Hex(key_text);
  CompileResult result;
  const std::string library = fmt::format("{}/{}.so", dir, key);
  if (fs::exists(library)) {
    result.library_path = library;
    result.cached = true;
    return result;
  }
  // The header beside the sources, under a name of its own content.
  const std::string include = fmt::format("{}/include-{}", dir, Sha256Hex(header).substr(0, 16));
  if (!fs::exists(include + "/sluice/udf.h")) {
    fs::create_directories(include + "/sluice", ec);
    std::string tmp = fmt::format("{}/sluice/udf.h.{}.tmp", include, getpid());
    if (ec || !WriteFile(tmp, header)) {
      return Status::Io("cannot write the UDF header into '{}'", include);
    }
    fs::rename(tmp, include + "/sluice/udf.h", ec);
  }
  // Compile in a private directory, named as diagnostics should show it.
  static std::atomic<int> counter{0};
  const std::string work =
      fmt::format("{}/build-{}-{}-{}", dir, key.substr(0, 16), getpid(), counter.fetch_add(1));
  fs::create_directories(work, ec);
  const std::string src = work + "/" + unit_name;
  if (ec || !WriteFile(src, source)) return Status::Io("cannot write '{}'", src);
  const std::string tmp_library = work + "/out.so";
  std::vector<std::string> argv = {Compiler()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("-I" + include);
  argv.push_back("-o");
  argv.push_back(tmp_library);
  argv.push_back(unit_name);
  // Run from the work directory so diagnostics name the unit without a path.
  std::vector<std::string> shell = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", work};
  shell.insert(shell.end(), argv.begin(), argv.end());
  SLUICE_ASSIGN_OR_RETURN(int rc, Run(shell, work + "/diagnostics.txt"));
  if (rc != 0) {
    result.diagnostics = ReadFile(work + "/diagnostics.txt");
    if (result.diagnostics.empty()) {
      result.diagnostics = fmt::format("the compiler '{}' exited with status {}", compiler, rc);
    }
    fs::remove_all(work, ec);
    return result;
  }
  fs::rename(tmp_library, library, ec);
  if (ec) return Status::Io("cannot move the compiled UDF to '{}': {}", library, ec.message());
  fs::remove_all(work, ec);
  result.library_path = library;
  return result;
}

}  // namespace sluice::udf
