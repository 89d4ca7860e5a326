// The S3 checkpoint storage against a real S3-compatible server: s3proxy, started by
// scripts/s3proxy-test-server (installed by scripts/install-s3proxy, which scripts/install-deps
// runs). Without it these tests fail: they do not skip. SLUICE_S3_TEST_DIR names a server
// started already (the directory given to `s3proxy-test-server start`, with a bucket
// "sluice-test"); otherwise the suite starts its own.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "runtime/aws_sigv4.h"
#include "runtime/checkpoint_storage.h"
#include "runtime/s3_storage.h"
#include "runtime/s3_xml.h"

namespace sluice::runtime {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBucket = "sluice-test";
const std::string kServerScript = std::string(SLUICE_SOURCE_DIR) + "/scripts/s3proxy-test-server";

// Runs a shell command; its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// An s3proxy server in a temporary directory, stopped (and the directory removed) at the end.
class TestServer {
 public:
  TestServer() {
    char tmpl[] = "/tmp/sluice-s3-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~TestServer() {
    Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Starts (or restarts, on the same port with the same objects) the server. Empty when it
  // runs; else why not.
  std::string Start() {
    auto [rc, out] = Shell(fmt::format("bash '{}' start '{}' --bucket {} --owner {}", kServerScript,
                                       dir_, kBucket, getpid()));
    if (rc != 0) return fmt::format("{} start failed (exit {}):\n{}", kServerScript, rc, out);
    endpoint_ = ReadFile(dir_ + "/endpoint");
    return {};
  }
  void Stop() { Shell(fmt::format("bash '{}' stop '{}'", kServerScript, dir_)); }
  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string dir_;
  std::string endpoint_;
};

// The environment the storage sees: the test server's credentials.
EnvLookup TestEnv(std::map<std::string, std::string> overrides = {}) {
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "sluice"},
                                            {"AWS_SECRET_ACCESS_KEY", "sluice-secret"}};
  for (auto& [k, v] : overrides) env[k] = v;
  return [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

// A port on which nothing listens (bound, then released).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    addr.sin_port = htons(1);  // root's port 1: nothing listens there either
  }
  close(fd);
  return ntohs(addr.sin_port);
}

class S3Storage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (const char* dir = std::getenv("SLUICE_S3_TEST_DIR"); dir != nullptr && *dir != '\0') {
      endpoint_ = ReadFile(std::string(dir) + "/endpoint");
      if (endpoint_.empty()) error_ = fmt::format("{}/endpoint is missing", dir);
      return;
    }
    server_ = new TestServer();
    error_ = server_->Start();
    endpoint_ = server_->endpoint();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(error_.empty()) << "no S3 test server (run scripts/install-s3proxy): " << error_;
  }

  // The URL of `prefix` in the test bucket, with `options` after the endpoint.
  static std::string Url(const std::string& prefix, const std::string& options = "") {
    return fmt::format("s3://{}/{}?endpoint={}{}", kBucket, prefix, endpoint_, options);
  }
  static std::shared_ptr<CheckpointStorage> Open(const std::string& url,
                                                 const EnvLookup& env = TestEnv()) {
    auto config = ParseS3Url(url, env);
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    if (!config.ok()) return nullptr;
    auto s = OpenS3CheckpointStorage(*config);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : nullptr;
  }
  // The error opening `url` gives.
  static Status OpenError(const std::string& url, const EnvLookup& env = TestEnv()) {
    auto config = ParseS3Url(url, env);
    if (!config.ok()) return config.status();
    auto s = OpenS3CheckpointStorage(*config);
    if (s.ok()) return Status::Internal("opened");
    return s.status();
  }

  static inline TestServer* server_ = nullptr;
  static inline std::string endpoint_;
  static inline std::string error_;
};

TEST_F(S3Storage, PutGetListDelete) {
  auto storage = Open(Url("put-get/state"));
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->location(), "s3://sluice-test/put-get/state");
  ASSERT_TRUE(storage->Put("chk-1/0-0.state", "abc").ok());
  ASSERT_TRUE(storage->Put("chk-1/_metadata", "m").ok());
  ASSERT_TRUE(storage->Put("chk-1/0-0.state", "replaced").ok());
  const std::string binary("\0\x01\xff\n\r zero", 10);
  ASSERT_TRUE(storage->Put("chk-2/1-0.state", binary).ok());
  ASSERT_TRUE(storage->Put("chk-2/empty", "").ok());
  ASSERT_TRUE(storage->Put("other", "x").ok());

  auto got = storage->Get("chk-1/0-0.state");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, "replaced");
  got = storage->Get("chk-2/1-0.state");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, binary);
  got = storage->Get("chk-2/empty");
  ASSERT_TRUE(got.ok() && got->has_value());  // an empty object is not a missing one
  EXPECT_EQ(**got, "");
  auto missing = storage->Get("chk-3/_metadata");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(missing->has_value());

  auto keys = storage->List("chk-");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, (std::vector<std::string>{"chk-1/0-0.state", "chk-1/_metadata",
                                             "chk-2/1-0.state", "chk-2/empty"}));
  keys = storage->List("");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 5u);
  keys = storage->List("chk-2/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"chk-2/1-0.state", "chk-2/empty"}));

  // The objects are under the prefix in the bucket: the bucket's root lists them so.
  auto root = Open(Url(""));
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->location(), "s3://sluice-test");
  auto all = root->List("put-get/");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front(), "put-get/state/chk-1/0-0.state");
  // A sibling prefix that starts the same is another state dir.
  auto sibling = Open(Url("put-get/stat"));
  ASSERT_NE(sibling, nullptr);
  auto none = sibling->List("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(storage->Delete("chk-1/0-0.state").ok());
  ASSERT_TRUE(storage->Delete("chk-1/_metadata").ok());
  ASSERT_TRUE(storage->Delete("chk-1/_metadata").ok());  // missing: fine
  missing = storage->Get("chk-1/0-0.state");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  keys = storage->List("chk-1");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());

  // Keys that could escape the prefix are refused as bugs, as locally.
  EXPECT_EQ(storage->Put("../x", "y").kind(), ErrorKind::kInternal);
  EXPECT_EQ(storage->Put("/x", "y").kind(), ErrorKind::kInternal);
}

// Keys with characters that URLs and XML escape: encoded in the request path, signed as
// encoded, and unescaped from the listing.
TEST_F(S3Storage, KeysNeedingEncoding) {
  auto storage = Open(Url("encoding"));
  ASSERT_NE(storage, nullptr);
  std::vector<std::string> keys = {
      "chk-1/a b+c%d&e=f",
      "chk-1/q?x#y;z,w:v@u",
      "chk-1/$!'()*~",
      "chk-1/x<y>&amp;\"'",
      "chk-1/\xc3\xbc"
      "ber/\xe6\x97\xa5\xe6\x9c\xac",
      "chk-1/tab\there",
      "chk-1/semi;colon[bracket]{brace}^`|",
  };
  for (const auto& k : keys) {
    ASSERT_TRUE(storage->Put(k, "value of " + k).ok()) << k;
  }
  for (const auto& k : keys) {
    auto got = storage->Get(k);
    ASSERT_TRUE(got.ok()) << k << ": " << got.status().ToString();
    ASSERT_TRUE(got->has_value()) << k;
    EXPECT_EQ(**got, "value of " + k);
  }
  auto listed = storage->List("chk-1/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(*listed, sorted);
  // A prefix with such characters selects by it.
  listed = storage->List("chk-1/x<y>&");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, (std::vector<std::string>{"chk-1/x<y>&amp;\"'"}));
  for (const auto& k : keys) ASSERT_TRUE(storage->Delete(k).ok()) << k;
  listed = storage->List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

// Listings of more keys than one page holds follow the continuation tokens: pages of 7 keys,
// and S3's own limit of 1000 (1100 keys, written from four threads at once).
TEST_F(S3Storage, ListPagination) {
  auto small_pages = Open(Url("pages-small", "&max_keys=7"));
  ASSERT_NE(small_pages, nullptr);
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    expected.push_back(fmt::format("chk-{}/{}-0.state", i / 10, i % 10));
    ASSERT_TRUE(small_pages->Put(expected.back(), std::to_string(i)).ok());
  }
  ASSERT_TRUE(small_pages->Put("not-listed", "").ok());
  std::sort(expected.begin(), expected.end());
  auto listed = small_pages->List("chk-");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, expected);

  auto storage = Open(Url("pages"));
  ASSERT_NE(storage, nullptr);
  constexpr int kKeys = 1100;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = t; i < kKeys; i += 4) {
        if (!storage->Put(fmt::format("chk-1/{:04}.state", i), "x").ok()) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
  listed = storage->List("chk-1/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ((*listed)[i], fmt::format("chk-1/{:04}.state", i));
}

TEST_F(S3Storage, WrongCredentialsAreClearErrors) {
  Status st = OpenError(Url("creds"), TestEnv({{"AWS_SECRET_ACCESS_KEY", "wrong-secret"}}));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kUser) << st.ToString();
  EXPECT_NE(st.message().find("--state-dir 's3://sluice-test/creds'"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("rejects the signature of access key 'sluice'"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("SignatureDoesNotMatch"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("check AWS_SECRET_ACCESS_KEY"), std::string::npos) << st.message();

  st = OpenError(Url("creds"), TestEnv({{"AWS_ACCESS_KEY_ID", "nobody"}}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("does not know the access key 'nobody'"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("check AWS_ACCESS_KEY_ID"), std::string::npos) << st.message();

  st = OpenError(Url("creds"), TestEnv({{"AWS_ACCESS_KEY_ID", ""}}));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kUser);
  EXPECT_NE(st.message().find("no S3 credentials: set AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY"),
            std::string::npos)
      << st.message();
}

TEST_F(S3Storage, MissingBucketIsAClearError) {
  Status st = OpenError(fmt::format("s3://no-such-bucket/x?endpoint={}", endpoint_));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kUser);
  EXPECT_NE(st.message().find(fmt::format("--state-dir 's3://no-such-bucket/x': bucket "
                                          "'no-such-bucket' does not exist at {}",
                                          endpoint_)),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("create it"), std::string::npos) << st.message();
}

// Nothing listens: the probe retries for the retry budget (1 s here), then says so.
TEST_F(S3Storage, UnreachableEndpointFailsAfterTheRetryBudget) {
  std::string endpoint = fmt::format("http://127.0.0.1:{}", ClosedPort());
  auto start = std::chrono::steady_clock::now();
  Status st = OpenError(fmt::format("s3://{}/x?endpoint={}&retry_timeout=1s", kBucket, endpoint));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kUser);
  EXPECT_NE(st.message().find(fmt::format("cannot reach {}", endpoint)), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("attempts in"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("endpoint= in the URL"), std::string::npos) << st.message();
  EXPECT_GE(seconds, 0.5);
  EXPECT_LT(seconds, 3.0);

  // Through the environment, the message names the variable.
  st = OpenError(fmt::format("s3://{}/x?retry_timeout=200ms", kBucket),
                 TestEnv({{"AWS_ENDPOINT_URL_S3", endpoint}}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("comes from AWS_ENDPOINT_URL_S3"), std::string::npos) << st.message();
}

// An operation retries while the server is down and succeeds once it is back; with the server
// down longer than the budget it fails, and the storage works again afterwards. The objects
// survive the server's restart.
TEST_F(S3Storage, RetriesAcrossAServerRestart) {
  TestServer own;
  ASSERT_EQ(own.Start(), "");
  auto config = ParseS3Url(
      fmt::format("s3://{}/restart?endpoint={}&retry_timeout=20s", kBucket, own.endpoint()),
      TestEnv());
  ASSERT_TRUE(config.ok());
  auto opened = OpenS3CheckpointStorage(*config);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto storage = *opened;
  ASSERT_TRUE(storage->Put("chk-1/_metadata", "before").ok());

  own.Stop();
  std::atomic<bool> done{false};
  Status put_status;
  auto start = std::chrono::steady_clock::now();
  std::thread writer([&] {
    put_status = storage->Put("chk-2/_metadata", "during");
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(done.load()) << "the Put returned while the server was down: "
                            << put_status.ToString();
  ASSERT_EQ(own.Start(), "");
  writer.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(put_status.ok()) << put_status.ToString();
  EXPECT_LT(seconds, 15.0);
  auto keys = storage->List("chk-");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, (std::vector<std::string>{"chk-1/_metadata", "chk-2/_metadata"}));
  auto got = storage->Get("chk-1/_metadata");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, "before");

  // Down for longer than a 1 s budget: the operation fails, as an I/O error naming the key.
  auto short_config = *config;
  short_config.retry_timeout_micros = 1'000'000;
  auto short_budget = OpenS3CheckpointStorage(short_config);
  ASSERT_TRUE(short_budget.ok());
  own.Stop();
  start = std::chrono::steady_clock::now();
  Status st = (*short_budget)->Put("chk-3/_metadata", "lost");
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kIo);
  EXPECT_NE(st.message().find("cannot put 's3://sluice-test/restart/chk-3/_metadata'"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("cannot reach"), std::string::npos) << st.message();
  EXPECT_GE(seconds, 0.5);
  EXPECT_LT(seconds, 3.0);
  auto list_down = (*short_budget)->List("");
  EXPECT_FALSE(list_down.ok());
  ASSERT_EQ(own.Start(), "");
  ASSERT_TRUE((*short_budget)->Put("chk-3/_metadata", "after").ok());
}

// Through OpenCheckpointStorage, as --state-dir: the process environment supplies the
// credentials.
TEST_F(S3Storage, OpenCheckpointStorageDispatches) {
  setenv("AWS_ACCESS_KEY_ID", "sluice", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "sluice-secret", 1);
  auto s = OpenCheckpointStorage(Url("dispatch"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->location(), "s3://sluice-test/dispatch");
  ASSERT_TRUE((*s)->Put("k", "v").ok());
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

// URL options, the environment and their precedence; no server needed.
TEST(S3Url, OptionsOverrideTheEnvironment) {
  auto env = TestEnv({{"AWS_REGION", "eu-west-1"},
                      {"AWS_DEFAULT_REGION", "us-west-2"},
                      {"AWS_ENDPOINT_URL_S3", "http://s3.local:9000"},
                      {"AWS_ENDPOINT_URL", "http://all.local:9000"},
                      {"AWS_SESSION_TOKEN", "token"}});
  auto c = ParseS3Url("s3://bucket/a/b/", env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->bucket, "bucket");
  EXPECT_EQ(c->prefix, "a/b/");
  EXPECT_EQ(c->location(), "s3://bucket/a/b");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_EQ(c->endpoint, "http://s3.local:9000");
  EXPECT_EQ(c->endpoint_source, "AWS_ENDPOINT_URL_S3");
  EXPECT_TRUE(c->path_style);
  EXPECT_EQ(c->credentials.access_key_id, "sluice");
  EXPECT_EQ(c->credentials.session_token, "token");
  EXPECT_EQ(c->retry_timeout_micros, 20'000'000);
  EXPECT_EQ(c->max_keys, 1000);

  c = ParseS3Url(
      "s3://bucket?endpoint=http%3A%2F%2F127.0.0.1%3A9555%2F&region=ap-south-1&path_style=false"
      "&retry_timeout=500ms&max_keys=10",
      env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->prefix, "");
  EXPECT_EQ(c->location(), "s3://bucket");
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:9555");
  EXPECT_EQ(c->endpoint_source, "endpoint= in the URL");
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_FALSE(c->path_style);
  EXPECT_EQ(c->retry_timeout_micros, 500'000);
  EXPECT_EQ(c->max_keys, 10);

  c = ParseS3Url("s3://bucket/p", TestEnv({{"AWS_DEFAULT_REGION", "us-west-2"},
                                           {"AWS_ENDPOINT_URL", "https://all.local"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->region, "us-west-2");
  EXPECT_EQ(c->endpoint, "https://all.local");
  EXPECT_EQ(c->endpoint_source, "AWS_ENDPOINT_URL");

  // Nothing set: AWS itself, virtual-hosted.
  c = ParseS3Url("s3://bucket/p", TestEnv());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->region, "us-east-1");
  EXPECT_EQ(c->endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_FALSE(c->path_style);
}

TEST(S3Url, BadUrlsAreUserErrors) {
  auto message = [](const std::string& url, const EnvLookup& env = TestEnv()) {
    auto c = ParseS3Url(url, env);
    EXPECT_FALSE(c.ok()) << url;
    if (c.ok()) return std::string();
    EXPECT_EQ(c.status().kind(), ErrorKind::kUser);
    return c.status().message();
  };
  EXPECT_NE(message("s3:///prefix").find("names no bucket"), std::string::npos);
  EXPECT_NE(message("s3://b/p?colour=red").find("unknown option 'colour'; the options are"),
            std::string::npos);
  EXPECT_NE(message("s3://b/p?secret_access_key=x").find("credentials are not taken from the URL"),
            std::string::npos);
  EXPECT_NE(message("s3://b/p?retry_timeout=20").find("invalid retry_timeout '20'"),
            std::string::npos);
  EXPECT_NE(message("s3://b/p?max_keys=0").find("max_keys must be between 1 and 1000"),
            std::string::npos);
  EXPECT_NE(message("s3://b/p?path_style=maybe").find("path_style must be true or false"),
            std::string::npos);
  EXPECT_NE(message("s3://b/p?endpoint=127.0.0.1:9000").find("is not a URL of the form"),
            std::string::npos);
  EXPECT_NE(message("s3://b/p?endpoint=ftp://h").find("is not a URL of the form"),
            std::string::npos);
  EXPECT_NE(message("s3://b/p", TestEnv({{"AWS_SECRET_ACCESS_KEY", ""}})).find("no S3 credentials"),
            std::string::npos);
  EXPECT_NE(message("s3://b%20x/p").find("not a valid bucket name"), std::string::npos);
}

// The examples of AWS's documentation of Signature V4 for S3 ("Examples: Signature
// Calculations in AWS Signature Version 4", single-chunk payloads), signature for signature.
TEST(AwsSigV4, DocumentationExamples) {
  aws::Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  const std::string date = "20130524T000000Z";
  const std::string scope = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";

  // GET Object with a Range header.
  aws::Request get{"GET", "/test.txt", {}, {}, std::string(aws::kEmptySha256)};
  get.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Range", "bytes=0-9"},
                 {"x-amz-content-sha256", std::string(aws::kEmptySha256)},
                 {"x-amz-date", date}};
  EXPECT_EQ(aws::AuthorizationHeader(get, creds, "us-east-1", "s3", date),
            "AWS4-HMAC-SHA256 Credential=" + scope +
                ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

  // PUT Object: a key that needs encoding, a body signed by its hash.
  const std::string body = "Welcome to Amazon S3.";
  EXPECT_EQ(aws::Sha256Hex(body),
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  aws::Request put{
      "PUT", "/" + aws::UriEncode("test$file.text", true), {}, {}, aws::Sha256Hex(body)};
  EXPECT_EQ(put.canonical_uri, "/test%24file.text");
  put.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-date", date},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                 {"x-amz-content-sha256", aws::Sha256Hex(body)}};
  EXPECT_EQ(aws::AuthorizationHeader(put, creds, "us-east-1", "s3", date),
            "AWS4-HMAC-SHA256 Credential=" + scope +
                ", SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");

  // GET Bucket (list objects): a query string, sorted.
  aws::Request list{
      "GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {}, std::string(aws::kEmptySha256)};
  list.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                  {"x-amz-date", date},
                  {"x-amz-content-sha256", std::string(aws::kEmptySha256)}};
  EXPECT_EQ(aws::CanonicalQueryString(list.query), "max-keys=2&prefix=J");
  EXPECT_EQ(aws::AuthorizationHeader(list, creds, "us-east-1", "s3", date),
            "AWS4-HMAC-SHA256 Credential=" + scope +
                ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");

  EXPECT_EQ(aws::AmzDate(1369353600), date);
  EXPECT_EQ(aws::UriEncode("a b/c~d+e\xc3\xbc", true), "a%20b/c~d%2Be%C3%BC");
  EXPECT_EQ(aws::UriEncode("a/b=c", false), "a%2Fb%3Dc");
  EXPECT_EQ(aws::Sha256Hex(""), aws::kEmptySha256);
}

TEST(S3Xml, ListPagesAndErrors) {
  auto page = s3::ParseListObjectsV2(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>p/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
      "<IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
      "<Contents><Key>p/a&amp;b&lt;c&gt;d&quot;e&apos;f</Key><Size>1</Size>"
      "<Owner><ID>x</ID></Owner></Contents>\n"
      "  <Contents>\n    <Key>p/&#252;&#x65E5; x</Key>\n  </Contents>"
      "<Contents><Key><![CDATA[p/<raw>&]]></Key></Contents>"
      "<!-- a comment <Key>not</Key> -->"
      "</ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->keys,
            (std::vector<std::string>{"p/a&b<c>d\"e'f", "p/\xc3\xbc\xe6\x97\xa5 x", "p/<raw>&"}));
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

  page = s3::ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Prefix/></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->keys.empty());
  EXPECT_FALSE(page->truncated);

  EXPECT_FALSE(s3::ParseListObjectsV2("<ListBucketResult><Key>a</Contents>").ok());
  EXPECT_FALSE(s3::ParseListObjectsV2("<ListBucketResult><Contents><Key>a&bogus;</Key>"
                                      "</Contents></ListBucketResult>")
                   .ok());
  EXPECT_FALSE(s3::ParseListObjectsV2("<Error><Code>x</Code></Error>").ok());
  EXPECT_FALSE(
      s3::ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
          .ok());

  auto e = s3::ParseError(
      "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchBucket</Code>"
      "<Message>The specified bucket does not exist</Message><Region>eu-west-1</Region></Error>");
  EXPECT_EQ(e.code, "NoSuchBucket");
  EXPECT_EQ(e.message, "The specified bucket does not exist");
  EXPECT_EQ(e.region, "eu-west-1");
  EXPECT_EQ(s3::ParseError("<html><body>Bad gateway</body></html>").code, "");
  EXPECT_EQ(s3::ParseError("").code, "");
}

}  // namespace
}  // namespace sluice::runtime
