#pragma once
// Checkpoint storage in an S3 bucket, or on any S3-compatible server (MinIO, SeaweedFS,
// s3proxy, Ceph): `--state-dir s3://bucket/prefix?endpoint=http://127.0.0.1:9000`. Objects are
// `<prefix>/<key>`; requests go over HTTP(S) with libcurl and are signed with AWS Signature V4
// (aws_sigv4.h). See docs/fault-tolerance.md ("Checkpoints in S3") for the URL options, the
// environment variables and the retry policy, and docs/decisions/0006-s3-over-libcurl.md.
//
// Threading: the storage is safe to call from several threads at once (each call borrows a
// connection from a small pool); every call blocks its thread until the request, including its
// retries, is done: at most the retry budget plus one request's timeouts.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "runtime/aws_sigv4.h"
#include "runtime/checkpoint_storage.h"

namespace sluice::runtime {

// Where and how to reach the bucket: the URL's options, else the environment, else defaults.
struct S3Config {
  std::string bucket;
  std::string prefix;  // "" or a key prefix ending in '/'
  // scheme://host[:port] without a path: "http://127.0.0.1:9555",
  // "https://s3.eu-west-1.amazonaws.com".
  std::string endpoint;
  // Where `endpoint` came from, for messages: "endpoint= in the URL", "AWS_ENDPOINT_URL_S3",
  // "AWS_ENDPOINT_URL" or "the AWS endpoint of the region".
  std::string endpoint_source;
  std::string region = "us-east-1";
  // Path-style addressing (http://host/bucket/key) rather than virtual-hosted
  // (http://bucket.host/key): the default with an explicit endpoint, since S3-compatible
  // servers rarely have a DNS name per bucket.
  bool path_style = false;
  aws::Credentials credentials;
  // How long one operation retries connection failures, timeouts, HTTP 5xx and 429 before it
  // fails.
  int64_t retry_timeout_micros = 20'000'000;
  // Keys per ListObjectsV2 page (S3 returns at most 1000).
  int max_keys = 1000;

  // "s3://bucket/prefix", for messages (no options, no credentials).
  std::string location() const;
};

// The environment variable `name`; nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
std::optional<std::string> ProcessEnv(std::string_view name);

// Parses an s3:// URL: `s3://BUCKET[/PREFIX][?OPTION=VALUE&...]` with the options endpoint,
// region, path_style, retry_timeout and max_keys, then fills what they leave open from AWS_REGION
// / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN as `env` returns them. User errors name the
// --state-dir and what to change.
Result<S3Config> ParseS3Url(std::string_view url, const EnvLookup& env = ProcessEnv);

// An S3 prefix as an object store, with the multipart uploads the filesystem sink writes files
// through (invisible until completed). Keys are relative to the prefix, as CheckpointStorage's.
// Errors name the object, the server's answer and what to do, as the checkpoint storage's.
class S3ObjectStore : public CheckpointStorage {
 public:
  // Starts an upload of `key`; returns its upload id.
  virtual Result<std::string> CreateMultipartUpload(std::string_view key) = 0;
  // Uploads part `part_number` (1..10000; every part but the last at least 5 MiB); returns its
  // ETag.
  virtual Result<std::string> UploadPart(std::string_view key, std::string_view upload_id,
                                         int part_number, std::string_view bytes) = 0;
  // Completes an upload from its parts' ETags: the object appears whole. False when the server
  // does not know the upload (404 NoSuchUpload, or s3proxy's NoSuchKey: completed or aborted
  // before).
  virtual Result<bool> CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                               const std::vector<std::string>& etags) = 0;
  // Aborts an upload; an unknown upload is not an error.
  virtual Status AbortMultipartUpload(std::string_view key, std::string_view upload_id) = 0;
  // The uploads in progress under `prefix`: (key, upload id).
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListMultipartUploads(
      std::string_view prefix) = 0;
  // The parts uploaded so far to an upload in progress, in part-number order: (part number,
  // ETag as the server lists it). Nullopt when the server does not know the upload (completed
  // or aborted).
  virtual Result<std::optional<std::vector<std::pair<int, std::string>>>> ListParts(
      std::string_view key, std::string_view upload_id) = 0;
  // The size of the object under `key`, or nullopt when there is none (HEAD).
  virtual Result<std::optional<int64_t>> ObjectSize(std::string_view key) = 0;
};

// Opens an S3ObjectStore and probes the bucket (as OpenS3CheckpointStorage).
Result<std::shared_ptr<S3ObjectStore>> OpenS3ObjectStore(const S3Config& config);

// Opens the storage and probes the bucket (a one-key listing of the prefix), so that a missing
// bucket, rejected credentials or an unreachable endpoint fail here, with one message saying
// what, where and how to fix it, rather than at the first checkpoint.
Result<std::shared_ptr<CheckpointStorage>> OpenS3CheckpointStorage(const S3Config& config);

}  // namespace sluice::runtime
