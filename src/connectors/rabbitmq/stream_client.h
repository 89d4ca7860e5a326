#pragma once
// A client of the RabbitMQ stream protocol (the binary protocol of the rabbitmq_stream plugin,
// port 5552; spec: deps/rabbitmq_stream/docs/PROTOCOL.adoc in rabbitmq-server), enough for a
// consuming source: PeerProperties, SASL PLAIN, Tune, Open, Subscribe at an offset
// specification, Credit, Deliver (OSIRIS chunks: their CRC32, simple entries and sub-entry
// batches, uncompressed or gzip), Heartbeat, QueryOffset/StoreOffset, Metadata and Close.
// Debian packages no stream-protocol client for C or C++ (docs/decisions/0024).
//
// One StreamConnection is one TCP connection, used by one thread. Reads never block longer
// than asked: the source polls it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::connectors::rabbitmq {

// Response codes of the protocol, by name ("STREAM_DOES_NOT_EXIST"), for errors.
std::string_view ResponseCodeName(uint16_t code);

struct ConnectOptions {
  std::string host = "localhost";
  int port = 5552;
  std::string username = "guest";
  std::string password = "guest";  // secret: never in messages
  std::string virtual_host = "/";
  int64_t connect_timeout_us = 10'000'000;
  uint32_t heartbeat_s = 60;  // most the client accepts (the server's proposal may be lower)
};

// Where a subscription starts (the protocol's OffsetSpecification).
struct OffsetSpec {
  enum Kind : uint16_t { kFirst = 1, kLast = 2, kNext = 3, kOffset = 4, kTimestamp = 5 };
  Kind kind = kFirst;
  int64_t value = 0;  // kOffset: the offset; kTimestamp: milliseconds since the epoch
};

// The messages of one delivered chunk. `body(i)` views the frame buffer: valid until the next
// call on the connection. Sub-entry batches are unpacked (gzip inflated into a reused buffer).
struct Chunk {
  uint64_t first_offset = 0;              // offset of the chunk's first record
  int64_t timestamp_ms = 0;               // when the chunk was written
  std::vector<std::string_view> records;  // records[i] has offset first_offset + i
};

// Where the AMQP 1.0 message's application data is: the bytes of its data section(s) (several
// are concatenated into `scratch`), of an amqp-value that is a binary or a string, or, for a
// record that is no AMQP 1.0 message (it does not start with a section descriptor), the record
// itself. An error names what is malformed.
Result<std::string_view> AmqpBody(std::string_view record, std::string* scratch);

class StreamConnection {
 public:
  // Connects and authenticates within options.connect_timeout_us; errors name host:port (never
  // the password) and the response code.
  static Result<std::unique_ptr<StreamConnection>> Connect(const ConnectOptions& options);
  ~StreamConnection();
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  // Subscribes (subscription id 0) to `stream` with `credit` chunks of initial credit.
  Status Subscribe(const std::string& stream, OffsetSpec offset, uint16_t credit);
  // Allows the server `chunks` more chunks.
  Status Credit(uint16_t chunks);
  // Waits up to `timeout_us` (0: only what has arrived) for the next delivered chunk of the
  // subscription; true in *got when one was read into *chunk. Heartbeats are answered and sent,
  // and the server's other frames handled, meanwhile. CRC mismatches, server closes and lost
  // connections are errors.
  Status NextChunk(int64_t timeout_us, Chunk* chunk, bool* got);
  // The offset the server stores for consumer `reference` on `stream` (nullopt: none stored).
  Result<std::optional<uint64_t>> QueryOffset(const std::string& reference,
                                              const std::string& stream);
  // Stores `offset` for `reference` (fire and forget, as the protocol has it).
  Status StoreOffset(const std::string& reference, const std::string& stream, uint64_t offset);
  // Does the stream exist (Metadata)? Errors: the server's answer other than OK / not found.
  Result<bool> StreamExists(const std::string& stream);
  // Closes politely (Close and its response, 2 s at most); the destructor only drops the socket.
  void Close();

  std::string address() const;  // host:port, for messages

 private:
  StreamConnection() = default;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::connectors::rabbitmq
