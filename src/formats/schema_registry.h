#pragma once
// A client of a Confluent-compatible schema registry (its REST API: GET /schemas/ids/{id},
// POST /subjects/{subject}/versions), over HTTP with libcurl, with a process-wide cache of
// schemas by id (a registered schema never changes).

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace sluice::formats {

struct RegistrySchema {
  std::string schema_type;  // "AVRO", "PROTOBUF", "JSON"
  std::string schema;       // the schema text
};

class SchemaRegistryClient {
 public:
  // `endpoint`: http(s)://host:port[/path]; api_key/api_secret: HTTP basic authentication
  // when not empty.
  SchemaRegistryClient(std::string endpoint, std::string api_key, std::string api_secret);

  // The schema of `id`. An id the registry does not know is a User error naming it (the
  // record refers to a schema that is not there); a registry that cannot be reached is an Io
  // error.
  Result<RegistrySchema> GetSchema(int32_t id) const;
  // Registers `schema` (of `schema_type`) under `subject`, or finds it there; returns its id.
  Result<int32_t> Register(const std::string& subject, const std::string& schema_type,
                           const std::string& schema) const;

  const std::string& endpoint() const { return endpoint_; }

 private:
  // One HTTP request; returns the status code and fills `body`.
  Result<long> Request(const std::string& method, const std::string& path,
                       const std::string& payload, std::string* body) const;

  std::string endpoint_;
  std::string api_key_;
  std::string api_secret_;
};

// The Confluent wire format's header: magic byte 0, then the schema id (4 bytes, big-endian).
inline constexpr size_t kConfluentHeaderBytes = 5;

}  // namespace sluice::formats
