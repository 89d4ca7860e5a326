#include "runtime/s3_storage.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/duration.h"
#include "common/text.h"
#include "runtime/s3_xml.h"

namespace sluice::runtime {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kOptions = "endpoint, region, path_style, retry_timeout, max_keys";

// %XX sequences of a URL query value decoded ("http%3A%2F%2Fhost" as well as "http://host").
std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The scheme and host[:port] of an endpoint URL.
struct Endpoint {
  std::string scheme;     // "http" or "https"
  std::string host_port;  // "127.0.0.1:9555", what the Host header carries
};

std::optional<Endpoint> SplitEndpoint(std::string_view endpoint) {
  size_t sep = endpoint.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  Endpoint e{AsciiLower(std::string(endpoint.substr(0, sep))),
             std::string(endpoint.substr(sep + 3))};
  if (e.scheme != "http" && e.scheme != "https") return std::nullopt;
  if (e.host_port.empty() || e.host_port.find_first_of("/?#@ ") != std::string::npos) {
    return std::nullopt;
  }
  return e;
}

// libcurl's process-wide initialization, once, before the first handle.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Connection failures and timeouts that a later attempt may not meet. Errors of the
// configuration (a malformed URL, a protocol libcurl lacks, a certificate that does not verify)
// fail at once.
bool TransientCurlError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A curl_slist that frees itself.
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  ~HeaderList() { curl_slist_free_all(list_); }
  void Add(const std::string& line) { list_ = curl_slist_append(list_, line.c_str()); }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

class S3CheckpointStorage : public S3ObjectStore {
 public:
  S3CheckpointStorage(S3Config config, Endpoint endpoint)
      : config_(std::move(config)), endpoint_(std::move(endpoint)) {}

  ~S3CheckpointStorage() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  std::string location() const override { return config_.location(); }

  Status Put(std::string_view key, std::string_view bytes) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    Response r = Send("PUT", ObjectKey(key), {}, bytes);
    if (!r.ok()) return Failed("put", key, r);
    return Status::Ok();
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    Response r = Send("GET", ObjectKey(key), {}, {});
    if (r.ok()) return std::optional<std::string>(std::move(r.body));
    if (r.status == 404 && s3::ParseError(r.body).code != "NoSuchBucket") {
      return std::optional<std::string>();
    }
    return Failed("get", key, r);
  }

  Result<std::vector<std::string>> List(std::string_view prefix) override {
    std::vector<std::string> keys;
    std::string token;
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(s3::ListPage page, ListPage(prefix, token, config_.max_keys));
      for (auto& k : page.keys) {
        // The server lists what starts with the whole prefix; a key outside it is not ours,
        // nor is a "folder" marker (a key ending in '/', which consoles and some servers
        // create).
        if (std::string_view(k).starts_with(config_.prefix) && !k.ends_with('/')) {
          keys.push_back(k.substr(config_.prefix.size()));
        }
      }
      if (!page.truncated) break;
      if (page.next_token == token) {
        return Status::Io(
            "checkpoint storage: cannot list '{}': the server repeats its "
            "continuation token",
            Where(prefix));
      }
      token = std::move(page.next_token);
    }
    // S3 lists in UTF-8 byte order already; some compatible servers do not.
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Status Delete(std::string_view key) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    Response r = Send("DELETE", ObjectKey(key), {}, {});
    // S3 answers 204 for a missing key too; a 404 from a compatible server means the same.
    if (r.ok() || (r.status == 404 && s3::ParseError(r.body).code != "NoSuchBucket")) {
      return Status::Ok();
    }
    return Failed("delete", key, r);
  }

  Result<std::string> CreateMultipartUpload(std::string_view key) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    Response r = Send("POST", ObjectKey(key), {{"uploads", ""}}, {});
    if (!r.ok()) return Failed("start an upload of", key, r);
    SLUICE_ASSIGN_OR_RETURN(auto texts, s3::XmlTexts(r.body));
    for (auto& [path, text] : texts) {
      if (path == "InitiateMultipartUploadResult/UploadId") return std::move(text);
    }
    return Status::Io("S3: the answer to starting an upload of '{}' has no UploadId", Where(key));
  }

  Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                 std::string_view bytes) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    Response r = Send(
        "PUT", ObjectKey(key),
        {{"partNumber", std::to_string(part_number)}, {"uploadId", std::string(upload_id)}}, bytes);
    if (!r.ok()) return Failed(fmt::format("upload part {} of", part_number), key, r);
    if (r.etag.empty()) {
      return Status::Io("S3: the answer to part {} of '{}' has no ETag", part_number, Where(key));
    }
    return r.etag;
  }

  Result<bool> CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                       const std::vector<std::string>& etags) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    std::string body = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags.size(); ++i) {
      body +=
          fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, etags[i]);
    }
    body += "</CompleteMultipartUpload>";
    Response r = Send("POST", ObjectKey(key), {{"uploadId", std::string(upload_id)}}, body);
    // NoSuchUpload (S3); s3proxy answers NoSuchKey for an upload completed before.
    if (r.status == 404 && s3::ParseError(r.body).code != "NoSuchBucket") return false;
    // A 200 may still carry an error document (S3 reports late failures that way).
    if (r.ok() && !s3::ParseError(r.body).code.empty()) r.status = 500;
    if (!r.ok()) return Failed("complete the upload of", key, r);
    return true;
  }

  Status AbortMultipartUpload(std::string_view key, std::string_view upload_id) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    Response r = Send("DELETE", ObjectKey(key), {{"uploadId", std::string(upload_id)}}, {});
    if (r.ok() || r.status == 404) return Status::Ok();
    return Failed("abort the upload of", key, r);
  }

  Result<std::vector<std::pair<std::string, std::string>>> ListMultipartUploads(
      std::string_view prefix) override {
    std::vector<std::pair<std::string, std::string>> out;
    std::string key_marker, id_marker;
    while (true) {
      aws::Params query = {{"uploads", ""}, {"prefix", config_.prefix + std::string(prefix)}};
      if (!key_marker.empty()) {
        query.emplace_back("key-marker", key_marker);
        query.emplace_back("upload-id-marker", id_marker);
      }
      Response r = Send("GET", std::nullopt, std::move(query), {});
      if (!r.ok()) return Failed("list the uploads under", prefix, r);
      SLUICE_ASSIGN_OR_RETURN(auto texts, s3::XmlTexts(r.body));
      bool truncated = false;
      std::string key;
      std::string next_key, next_id;
      for (auto& [path, text] : texts) {
        if (path == "ListMultipartUploadsResult/Upload/Key") {
          key = std::move(text);
        } else if (path == "ListMultipartUploadsResult/Upload/UploadId") {
          if (std::string_view(key).starts_with(config_.prefix)) {
            out.emplace_back(key.substr(config_.prefix.size()), std::move(text));
          }
        } else if (path == "ListMultipartUploadsResult/IsTruncated") {
          truncated = text == "true";
        } else if (path == "ListMultipartUploadsResult/NextKeyMarker") {
          next_key = std::move(text);
        } else if (path == "ListMultipartUploadsResult/NextUploadIdMarker") {
          next_id = std::move(text);
        }
      }
      if (!truncated || next_key.empty() || next_key == key_marker) break;
      key_marker = std::move(next_key);
      id_marker = std::move(next_id);
    }
    return out;
  }

  Result<std::optional<std::vector<std::pair<int, std::string>>>> ListParts(
      std::string_view key, std::string_view upload_id) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    std::vector<std::pair<int, std::string>> out;
    std::string marker;
    while (true) {
      aws::Params query = {{"uploadId", std::string(upload_id)}};
      if (!marker.empty()) query.emplace_back("part-number-marker", marker);
      Response r = Send("GET", ObjectKey(key), std::move(query), {});
      // NoSuchUpload (S3); s3proxy answers NoSuchKey for an upload it no longer has.
      if (r.status == 404 && s3::ParseError(r.body).code != "NoSuchBucket") {
        return std::optional<std::vector<std::pair<int, std::string>>>();
      }
      if (!r.ok()) return Failed("list the uploaded parts of", key, r);
      SLUICE_ASSIGN_OR_RETURN(auto texts, s3::XmlTexts(r.body));
      bool truncated = false;
      std::string next;
      int number = 0;
      for (auto& [path, text] : texts) {
        if (path == "ListPartsResult/Part/PartNumber") {
          number = std::atoi(text.c_str());
        } else if (path == "ListPartsResult/Part/ETag") {
          out.emplace_back(number, std::move(text));
        } else if (path == "ListPartsResult/IsTruncated") {
          truncated = text == "true";
        } else if (path == "ListPartsResult/NextPartNumberMarker") {
          next = std::move(text);
        }
      }
      if (!truncated || next.empty() || next == marker) break;
      marker = std::move(next);
    }
    std::sort(out.begin(), out.end());
    return std::optional<std::vector<std::pair<int, std::string>>>(std::move(out));
  }

  Result<std::optional<int64_t>> ObjectSize(std::string_view key) override {
    SLUICE_RETURN_NOT_OK(CheckKey(key));
    Response r = Send("HEAD", ObjectKey(key), {}, {});
    if (r.ok()) return std::optional<int64_t>(r.content_length);
    if (r.status == 404) return std::optional<int64_t>();
    return Failed("look up", key, r);
  }

  // A one-key listing of the prefix: the bucket exists, the endpoint answers, the credentials
  // are accepted and allow listing.
  Status Probe() {
    Response r = SendList(config_.prefix, "", 1);
    if (r.ok()) {
      auto page = s3::ParseListObjectsV2(r.body);
      if (page.ok()) return Status::Ok();
      return Status::User("--state-dir '{}': {} does not answer as S3 does: {}", location(),
                          config_.endpoint, page.status().message());
    }
    return Status::User("--state-dir '{}': {}", location(), Explain(r));
  }

 private:
  // What one request (with its retries) ended with.
  struct Response {
    CURLcode code = CURLE_OK;
    std::string curl_error;
    long status = 0;  // the HTTP status when code is CURLE_OK
    std::string body;
    std::string etag;             // the ETag header (UploadPart)
    int64_t content_length = -1;  // the Content-Length header (HEAD)
    std::string method;
    std::string url;
    int attempts = 0;
    double seconds = 0;  // from the first attempt to the last answer

    bool ok() const { return code == CURLE_OK && status >= 200 && status < 300; }
  };

  static Status CheckKey(std::string_view key) {
    if (key.empty() || key.front() == '/' || key.back() == '/' ||
        key.find("..") != std::string_view::npos) {
      return Status::Internal("bad checkpoint storage key '{}'", key);
    }
    return Status::Ok();
  }

  std::string ObjectKey(std::string_view key) const { return config_.prefix + std::string(key); }

  Result<s3::ListPage> ListPage(std::string_view prefix, const std::string& token, int max_keys) {
    Response r = SendList(config_.prefix + std::string(prefix), token, max_keys);
    if (!r.ok()) return Failed("list", prefix, r);
    auto page = s3::ParseListObjectsV2(r.body);
    if (!page.ok()) {
      return Status::Io("checkpoint storage: cannot list '{}': {}", Where(prefix),
                        page.status().message());
    }
    return page;
  }

  Response SendList(const std::string& full_prefix, const std::string& token, int max_keys) {
    aws::Params query = {
        {"list-type", "2"}, {"prefix", full_prefix}, {"max-keys", std::to_string(max_keys)}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    return Send("GET", std::nullopt, std::move(query), {});
  }

  // Sends a request for `object_key` (nullopt: the bucket itself), retrying transient failures
  // with exponential backoff until the retry budget is spent.
  Response Send(std::string_view method, const std::optional<std::string>& object_key,
                aws::Params query, std::string_view body) {
    // Addressing: path style puts the bucket in the path, virtual-hosted style in the host.
    std::string host = endpoint_.host_port;
    std::string path;
    if (config_.path_style) {
      path = "/" + aws::UriEncode(config_.bucket, false);
      if (object_key) path += "/" + aws::UriEncode(*object_key, true);
    } else {
      host = config_.bucket + "." + host;
      path = "/" + (object_key ? aws::UriEncode(*object_key, true) : std::string());
    }
    std::string query_string = aws::CanonicalQueryString(query);
    Response r;
    r.method = std::string(method);
    r.url = fmt::format("{}://{}{}{}{}", endpoint_.scheme, host, path,
                        query_string.empty() ? "" : "?", query_string);
    const bool has_body = method == "PUT" || method == "POST";
    std::string payload_sha256 = has_body ? aws::Sha256Hex(body) : std::string(aws::kEmptySha256);

    const auto start = Clock::now();
    const auto deadline = start + std::chrono::microseconds(config_.retry_timeout_micros);
    auto backoff = std::chrono::milliseconds(100);
    thread_local std::minstd_rand jitter(std::random_device{}());
    CURL* h = Acquire();
    if (h == nullptr) {
      r.code = CURLE_FAILED_INIT;
      r.curl_error = "cannot create a libcurl handle";
      return r;
    }
    while (true) {
      ++r.attempts;
      // Signed anew for every attempt: a signature is only valid for a few minutes.
      std::string amz_date = aws::AmzDate(std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
      aws::Request request{method, path, query, {}, payload_sha256};
      request.headers = {
          {"host", host}, {"x-amz-content-sha256", payload_sha256}, {"x-amz-date", amz_date}};
      if (!config_.credentials.session_token.empty()) {
        request.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
      }
      std::string authorization =
          aws::AuthorizationHeader(request, config_.credentials, config_.region, "s3", amz_date);
      HeaderList headers;
      for (const auto& [name, value] : request.headers) headers.Add(name + ": " + value);
      headers.Add("Authorization: " + authorization);
      headers.Add("Expect:");  // no 100-continue round trip before a body
      if (has_body) headers.Add("Content-Type: application/octet-stream");

      // Each attempt's timeouts: connecting within what is left of the budget (between 1 and
      // 10 seconds: a distant server needs a moment even when the budget is nearly spent), and
      // no transfer stalled (no byte either way) longer than the budget, 1 to 30 seconds.
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      long connect_ms = std::clamp<long>(static_cast<long>(left.count()), 1000, 10'000);
      long stall_s =
          std::clamp<long>(static_cast<long>(config_.retry_timeout_micros / 1'000'000), 1, 30);

      char error[CURL_ERROR_SIZE] = {0};
      r.body.clear();
      r.etag.clear();
      r.content_length = -1;
      curl_easy_reset(h);
      curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
      curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // keys are not paths to normalize
      curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);    // we run on many threads
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
      curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, AppendBody);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
      curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s);
      curl_easy_setopt(h, CURLOPT_USERAGENT, "sluice");
      curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, ReadHeader);
      curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
      if (has_body) {
        // The body from memory: libcurl can send it again on its own when it must.
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method == "POST" ? "POST" : "PUT");
        // Never a null pointer: libcurl would then read the body from stdin.
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      } else if (method == "DELETE") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
      } else if (method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
      }
      r.code = curl_easy_perform(h);
      r.status = 0;
      r.curl_error.clear();
      if (r.code == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
      } else {
        r.curl_error = error[0] != 0 ? error : curl_easy_strerror(r.code);
      }
      r.seconds = std::chrono::duration<double>(Clock::now() - start).count();

      bool transient = r.code != CURLE_OK ? TransientCurlError(r.code)
                                          : r.status >= 500 || r.status == 429 ||
                                                (r.status == 400 &&
                                                 s3::ParseError(r.body).code == "RequestTimeout");
      if (!transient) break;
      // Jitter in the upper half of the backoff: concurrent retries spread out, none waits
      // much less. The last attempt comes when the budget ends.
      auto sleep = std::chrono::milliseconds(
          backoff.count() / 2 + static_cast<long>(jitter() % (backoff.count() / 2 + 1)));
      auto now = Clock::now();
      if (now >= deadline) break;
      std::this_thread::sleep_for(std::min<Clock::duration>(sleep, deadline - now));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
    Release(h);
    return r;
  }

  // libcurl's header callback: keeps the headers the multipart calls read.
  static size_t ReadHeader(char* data, size_t size, size_t n, void* out) {
    auto* r = static_cast<Response*>(out);
    std::string_view line(data, size * n);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name = AsciiLower(std::string(line.substr(0, colon)));
      std::string_view value = TrimAsciiSpace(line.substr(colon + 1));
      if (name == "etag") {
        r->etag = std::string(value);
      } else if (name == "content-length") {
        r->content_length = std::strtoll(std::string(value).c_str(), nullptr, 10);
      }
    }
    return size * n;
  }

  // A failed operation, for the log of the checkpoint that needed it.
  Status Failed(std::string_view op, std::string_view key, const Response& r) const {
    return Status::Io("checkpoint storage: cannot {} '{}': {}", op, Where(key), Explain(r));
  }

  // The URL of `key` in messages: "s3://bucket/prefix/chk-3/_metadata".
  std::string Where(std::string_view key) const { return fmt::format("{}/{}", location(), key); }

  // What went wrong and what to do about it.
  std::string Explain(const Response& r) const {
    std::string retried =
        r.attempts > 1 ? fmt::format(" ({} attempts in {:.1f} s)", r.attempts, r.seconds) : "";
    if (r.code != CURLE_OK) {
      return fmt::format(
          "cannot reach {}: {}{}; check that the server runs and the endpoint, which comes from "
          "{}",
          config_.endpoint, r.curl_error, retried, config_.endpoint_source);
    }
    s3::ErrorInfo e = s3::ParseError(r.body);
    std::string what = e.code.empty() ? fmt::format("HTTP {}", r.status)
                                      : fmt::format("HTTP {} {}", r.status, e.code);
    if (!e.message.empty()) what += fmt::format(" \"{}\"", e.message);
    if (e.code.empty() && !r.body.empty()) {
      // Not an S3 error document (a proxy's HTML page): its start says more than nothing.
      std::string start;
      for (char c : std::string_view(r.body).substr(0, 160)) {
        start.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
      }
      what += fmt::format(" (response starts: {})", start);
    }
    std::string where = fmt::format("{} {}", r.method, r.url);
    const std::string& id = config_.credentials.access_key_id;
    if (e.code == "NoSuchBucket") {
      return fmt::format(
          "bucket '{}' does not exist at {} ({}): create it, or fix the bucket name or the "
          "endpoint (from {})",
          config_.bucket, config_.endpoint, what, config_.endpoint_source);
    }
    if (e.code == "InvalidAccessKeyId") {
      return fmt::format("{} does not know the access key '{}' ({}): check AWS_ACCESS_KEY_ID",
                         config_.endpoint, id, what);
    }
    if (e.code == "SignatureDoesNotMatch") {
      return fmt::format(
          "{} rejects the signature of access key '{}' ({}): check AWS_SECRET_ACCESS_KEY",
          config_.endpoint, id, what);
    }
    if (e.code == "ExpiredToken" || e.code == "InvalidToken" || e.code == "TokenRefreshRequired") {
      return fmt::format("the session token is not valid ({}): renew AWS_SESSION_TOKEN", what);
    }
    if (e.code == "AuthorizationHeaderMalformed" || e.code == "PermanentRedirect" ||
        r.status == 301) {
      return fmt::format(
          "bucket '{}' is not in region '{}'{} ({}): set region= in the URL or AWS_REGION",
          config_.bucket, config_.region,
          e.region.empty() ? "" : fmt::format(" but in '{}'", e.region), what);
    }
    if (e.code == "AccessDenied" || r.status == 403) {
      return fmt::format(
          "access denied to access key '{}' ({}) on {}: it needs s3:ListBucket on bucket '{}' "
          "and s3:GetObject, s3:PutObject and s3:DeleteObject on '{}*'",
          id, what, where, config_.bucket, config_.prefix);
    }
    return fmt::format("{}{} on {}", what, retried, where);
  }

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  // Kept for the next request, with its open connection.
  void Release(CURL* h) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(h);
  }

  const S3Config config_;
  const Endpoint endpoint_;
  std::mutex mu_;
  std::vector<CURL*> idle_;  // under mu_
};

}  // namespace

std::string S3Config::location() const {
  std::string p = prefix;
  if (!p.empty()) p.pop_back();  // the '/' that joins keys
  return p.empty() ? fmt::format("s3://{}", bucket) : fmt::format("s3://{}/{}", bucket, p);
}

std::optional<std::string> ProcessEnv(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

Result<S3Config> ParseS3Url(std::string_view url, const EnvLookup& env) {
  if (!url.starts_with("s3://")) return Status::User("--state-dir '{}' is not an s3:// URL", url);
  std::string_view rest = url.substr(5);
  std::string_view options;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    options = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3Config c;
  size_t slash = rest.find('/');
  c.bucket = std::string(rest.substr(0, slash));
  if (c.bucket.empty()) {
    return Status::User("--state-dir '{}' names no bucket; use s3://BUCKET/PREFIX", url);
  }
  for (char ch : c.bucket) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.' && ch != '_') {
      return Status::User("--state-dir '{}': '{}' is not a valid bucket name", url, c.bucket);
    }
  }
  if (slash != std::string_view::npos) {
    std::string_view p = rest.substr(slash + 1);
    while (!p.empty() && p.front() == '/') p.remove_prefix(1);
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    if (!p.empty()) c.prefix = std::string(p) + "/";
  }

  std::optional<std::string> endpoint, region, path_style;
  while (!options.empty()) {
    size_t amp = options.find('&');
    std::string_view item = options.substr(0, amp);
    options = amp == std::string_view::npos ? std::string_view() : options.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string name = AsciiLower(std::string(item.substr(0, eq)));
    std::string value =
        eq == std::string_view::npos ? std::string() : PercentDecode(item.substr(eq + 1));
    if (name == "endpoint") {
      endpoint = value;
    } else if (name == "region") {
      region = value;
    } else if (name == "path_style") {
      path_style = AsciiLower(value);
    } else if (name == "retry_timeout") {
      auto micros = ParseDuration(value, "retry_timeout");
      if (!micros.ok() || *micros > int64_t{3600} * 1'000'000) {
        return Status::User(
            "--state-dir '{}': invalid retry_timeout '{}'; use a duration with a unit between 0s "
            "and 1h, such as 500ms, 20s or 2m",
            url, value);
      }
      c.retry_timeout_micros = *micros;
    } else if (name == "max_keys") {
      int n = std::atoi(value.c_str());
      if (n < 1 || n > 1000 || std::to_string(n) != value) {
        return Status::User("--state-dir '{}': max_keys must be between 1 and 1000, got '{}'", url,
                            value);
      }
      c.max_keys = n;
    } else if (name.find("secret") != std::string::npos ||
               name.find("access_key") != std::string::npos ||
               name.find("token") != std::string::npos) {
      return Status::User(
          "--state-dir '{}': credentials are not taken from the URL (it shows up in logs and "
          "process lists); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
          url);
    } else {
      return Status::User("--state-dir '{}': unknown option '{}'; the options are {}", url, name,
                          kOptions);
    }
  }

  if (region) {
    c.region = *region;
  } else if (auto r = env("AWS_REGION")) {
    c.region = *r;
  } else if (auto r2 = env("AWS_DEFAULT_REGION")) {
    c.region = *r2;
  }
  if (c.region.empty()) return Status::User("--state-dir '{}': region is empty", url);

  if (endpoint) {
    c.endpoint = *endpoint;
    c.endpoint_source = "endpoint= in the URL";
  } else if (auto e = env("AWS_ENDPOINT_URL_S3")) {
    c.endpoint = *e;
    c.endpoint_source = "AWS_ENDPOINT_URL_S3";
  } else if (auto e2 = env("AWS_ENDPOINT_URL")) {
    c.endpoint = *e2;
    c.endpoint_source = "AWS_ENDPOINT_URL";
  } else {
    c.endpoint = fmt::format("https://s3.{}.amazonaws.com", c.region);
    c.endpoint_source =
        "the AWS endpoint of the region (set endpoint= or AWS_ENDPOINT_URL_S3 "
        "for another server)";
  }
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  if (!SplitEndpoint(c.endpoint)) {
    return Status::User(
        "--state-dir '{}': endpoint '{}' (from {}) is not a URL of the form http[s]://host[:port]",
        url, c.endpoint, c.endpoint_source);
  }

  // Path style for S3-compatible servers, virtual-hosted style for AWS, unless told.
  c.path_style = endpoint || c.endpoint_source.starts_with("AWS_ENDPOINT_URL");
  if (path_style) {
    if (*path_style == "true" || *path_style == "1") {
      c.path_style = true;
    } else if (*path_style == "false" || *path_style == "0") {
      c.path_style = false;
    } else {
      return Status::User("--state-dir '{}': path_style must be true or false, got '{}'", url,
                          *path_style);
    }
  }

  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (!id || !secret) {
    return Status::User(
        "--state-dir '{}': no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(and AWS_SESSION_TOKEN for temporary credentials); credential files, profiles and "
        "instance roles are not read",
        url);
  }
  c.credentials.access_key_id = *id;
  c.credentials.secret_access_key = *secret;
  c.credentials.session_token = env("AWS_SESSION_TOKEN").value_or("");
  return c;
}

Result<std::shared_ptr<CheckpointStorage>> OpenS3CheckpointStorage(const S3Config& config) {
  auto endpoint = SplitEndpoint(config.endpoint);
  if (!endpoint) {
    return Status::User("S3 endpoint '{}' is not a URL of the form http[s]://host[:port]",
                        config.endpoint);
  }
  InitCurlOnce();
  auto storage = std::make_shared<S3CheckpointStorage>(config, std::move(*endpoint));
  SLUICE_RETURN_NOT_OK(storage->Probe());
  return std::shared_ptr<CheckpointStorage>(std::move(storage));
}

Result<std::shared_ptr<S3ObjectStore>> OpenS3ObjectStore(const S3Config& config) {
  auto endpoint = SplitEndpoint(config.endpoint);
  if (!endpoint) {
    return Status::User("S3 endpoint '{}' is not a URL of the form http[s]://host[:port]",
                        config.endpoint);
  }
  InitCurlOnce();
  auto storage = std::make_shared<S3CheckpointStorage>(config, std::move(*endpoint));
  SLUICE_RETURN_NOT_OK(storage->Probe());
  return std::shared_ptr<S3ObjectStore>(std::move(storage));
}

}  // namespace sluice::runtime
