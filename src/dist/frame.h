#pragma once
// The data plane's wire format (docs/distributed.md, "The data plane"): after a handshake, a
// connection carries frames, each on one logical channel (source node/subtask → target
// node/subtask/input). Batches, watermarks, barriers, idleness and end-of-data travel in band,
// in order, on their channel; credit frames travel back on the same connection.
//
//   frame   = u32 length of the rest | u8 kind | u8 0 | u16 0 | channel (5 × i32) |
//             u64 XXH3 checksum of the payload | payload
//   payload = kBatch: the batch in batch/serialize.h's layout; kWatermark: i64 µs;
//             kBarrier: i64 epoch, u8 checkpoint kind; kCredit: i64 bytes granted;
//             kEndOfData, kIdle: empty
//
// Integers are little-endian. The decoder checks every length, kind, checksum and the batch
// inside, so a truncated or corrupt frame is a Status naming what is wrong, never a crash.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/message.h"

namespace sluice::dist {

struct ChannelId {
  int32_t from_node = 0;
  int32_t from_subtask = 0;
  int32_t to_node = 0;
  int32_t to_subtask = 0;
  int32_t to_input = 0;
  bool operator==(const ChannelId&) const = default;
  std::string ToString() const;  // "2[1] -> 4[0] input 1"
};

struct ChannelIdHash {
  size_t operator()(const ChannelId& c) const;
};

enum class FrameKind : uint8_t {
  kBatch = 1,
  kWatermark = 2,
  kBarrier = 3,
  kEndOfData = 4,
  kIdle = 5,
  kCredit = 6,
};

// Bytes before the payload: length, kind, padding, channel, checksum.
inline constexpr size_t kFrameHeaderBytes = 4 + 4 + 20 + 8;
// The largest frame accepted (a batch of 4096 wide rows is far below it).
inline constexpr uint32_t kMaxFrameBytes = 256u << 20;

struct Frame {
  FrameKind kind = FrameKind::kBatch;
  ChannelId channel;
  runtime::Message message;  // every kind but kCredit
  int64_t credit = 0;        // kCredit
  size_t payload_bytes = 0;  // what a batch costs in credit
};

// Appends the frame of `message` on `channel` to `out`; returns the payload's size.
size_t EncodeMessage(const ChannelId& channel, const runtime::Message& message, std::string* out);
void EncodeCredit(const ChannelId& channel, int64_t bytes, std::string* out);

// Decodes one whole frame (as framed by its length prefix, which `bytes` includes).
Result<Frame> DecodeFrame(std::string_view bytes);

}  // namespace sluice::dist
