#pragma once
// AWS Signature Version 4 for S3 requests (the S3 checkpoint storage signs every request with
// it): canonical request, string to sign, signing key and the Authorization header, as AWS
// documents them for S3 ("Authenticating Requests: Using the Authorization Header"). The
// payload is signed by its SHA-256 (never UNSIGNED-PAYLOAD), so the server also checks that the
// body arrived intact.
//
// Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::runtime::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

// Percent-encodes every byte except the unreserved characters A-Z a-z 0-9 - . _ ~ (and '/' when
// `keep_slash`), with upper-case hex digits: S3's encoding of object key paths (keep_slash) and
// of query names and values.
std::string UriEncode(std::string_view s, bool keep_slash);

// Lower-case hex of the SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);
// The SHA-256 of an empty body, which GET, DELETE and list requests sign.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using Params = std::vector<std::pair<std::string, std::string>>;

// The canonical query string: names and values encoded, sorted by name then value, joined with
// '&'. Also usable as the query of the request URL (the server decodes what we sign).
std::string CanonicalQueryString(const Params& query);

struct Request {
  std::string_view method;    // "GET", "PUT", "DELETE"
  std::string canonical_uri;  // the path, already encoded with UriEncode(..., true)
  Params query;               // not encoded
  // Every header to sign, including host, x-amz-date and x-amz-content-sha256 (and
  // x-amz-security-token with temporary credentials). Names in any case.
  Params headers;
  std::string payload_sha256;  // the value of x-amz-content-sha256
};

// The value of the Authorization header of `request`, sent at `amz_date` (the value of the
// x-amz-date header, "20130524T000000Z") to `service` ("s3") in `region`.
std::string AuthorizationHeader(const Request& request, const Credentials& credentials,
                                std::string_view region, std::string_view service,
                                std::string_view amz_date);

// `unix_seconds` as an x-amz-date value.
std::string AmzDate(int64_t unix_seconds);

}  // namespace sluice::runtime::aws
