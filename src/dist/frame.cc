#include "dist/frame.h"

#include <fmt/format.h>

#include "batch/serialize.h"
#include "runtime/checksum.h"

namespace sluice::dist {

std::string ChannelId::ToString() const {
  return fmt::format("{}[{}] -> {}[{}] input {}", from_node, from_subtask, to_node, to_subtask,
                     to_input);
}

size_t ChannelIdHash::operator()(const ChannelId& c) const {
  uint64_t h = static_cast<uint32_t>(c.from_node);
  for (int32_t v : {c.from_subtask, c.to_node, c.to_subtask, c.to_input}) {
    h = h * 0x9e3779b97f4a7c15ull + static_cast<uint32_t>(v);
  }
  return static_cast<size_t>(h ^ (h >> 29));
}

namespace {

// Writes the header with a zero length and checksum; Finish fills them once the payload is in.
size_t BeginFrame(FrameKind kind, const ChannelId& c, std::string* out) {
  size_t start = out->size();
  batch::ByteWriter w(out);
  w.Put<uint32_t>(0);
  w.Put<uint8_t>(static_cast<uint8_t>(kind));
  w.Put<uint8_t>(0);
  w.Put<uint16_t>(0);
  for (int32_t v : {c.from_node, c.from_subtask, c.to_node, c.to_subtask, c.to_input}) w.Put(v);
  w.Put<uint64_t>(0);
  return start;
}

size_t FinishFrame(size_t start, std::string* out) {
  size_t payload = out->size() - start - kFrameHeaderBytes;
  auto length = static_cast<uint32_t>(out->size() - start - 4);
  std::memcpy(out->data() + start, &length, 4);
  uint64_t sum = runtime::Checksum64(std::string_view(*out).substr(start + kFrameHeaderBytes));
  std::memcpy(out->data() + start + kFrameHeaderBytes - 8, &sum, 8);
  return payload;
}

}  // namespace

size_t EncodeMessage(const ChannelId& channel, const runtime::Message& message, std::string* out) {
  return std::visit(
      [&](const auto& m) -> size_t {
        using M = std::decay_t<decltype(m)>;
        size_t start;
        if constexpr (std::is_same_v<M, batch::BatchPtr>) {
          start = BeginFrame(FrameKind::kBatch, channel, out);
          batch::SerializeBatch(*m, out);
        } else if constexpr (std::is_same_v<M, Watermark>) {
          start = BeginFrame(FrameKind::kWatermark, channel, out);
          batch::ByteWriter(out).Put<int64_t>(m.time.value);
        } else if constexpr (std::is_same_v<M, runtime::Barrier>) {
          start = BeginFrame(FrameKind::kBarrier, channel, out);
          batch::ByteWriter w(out);
          w.Put<int64_t>(m.epoch);
          w.Put<uint8_t>(static_cast<uint8_t>(m.kind));
        } else if constexpr (std::is_same_v<M, runtime::EndOfData>) {
          start = BeginFrame(FrameKind::kEndOfData, channel, out);
        } else {
          start = BeginFrame(FrameKind::kIdle, channel, out);
        }
        return FinishFrame(start, out);
      },
      message);
}

void EncodeCredit(const ChannelId& channel, int64_t bytes, std::string* out) {
  size_t start = BeginFrame(FrameKind::kCredit, channel, out);
  batch::ByteWriter(out).Put<int64_t>(bytes);
  FinishFrame(start, out);
}

Result<Frame> DecodeFrame(std::string_view bytes) {
  batch::ByteReader r(bytes, "data plane frame");
  uint32_t length = 0;
  uint8_t kind = 0, pad8 = 0;
  uint16_t pad16 = 0;
  SLUICE_RETURN_NOT_OK(r.Get(&length));
  if (length != bytes.size() - 4) {
    return r.Corrupt(fmt::format("its length says {} bytes, {} follow", length, bytes.size() - 4));
  }
  SLUICE_RETURN_NOT_OK(r.Get(&kind));
  SLUICE_RETURN_NOT_OK(r.Get(&pad8));
  SLUICE_RETURN_NOT_OK(r.Get(&pad16));
  Frame f;
  for (int32_t* v : {&f.channel.from_node, &f.channel.from_subtask, &f.channel.to_node,
                     &f.channel.to_subtask, &f.channel.to_input}) {
    SLUICE_RETURN_NOT_OK(r.Get(v));
  }
  uint64_t sum = 0;
  SLUICE_RETURN_NOT_OK(r.Get(&sum));
  if (kind < static_cast<uint8_t>(FrameKind::kBatch) ||
      kind > static_cast<uint8_t>(FrameKind::kCredit) || pad8 != 0 || pad16 != 0) {
    return r.Corrupt(fmt::format("unknown frame kind {}", kind));
  }
  std::string_view payload = r.rest();
  f.payload_bytes = payload.size();
  if (runtime::Checksum64(payload) != sum) return r.Corrupt("its payload checksum does not match");
  f.kind = static_cast<FrameKind>(kind);
  batch::ByteReader p(payload, "data plane frame payload");
  switch (f.kind) {
    case FrameKind::kBatch: {
      auto b = batch::DeserializeBatch(payload);
      if (!b.ok()) return b.status();
      f.message = b.MoveValue();
      return f;
    }
    case FrameKind::kWatermark: {
      int64_t t = 0;
      SLUICE_RETURN_NOT_OK(p.Get(&t));
      f.message = Watermark{EventTime{t}};
      break;
    }
    case FrameKind::kBarrier: {
      runtime::Barrier b;
      uint8_t k = 0;
      SLUICE_RETURN_NOT_OK(p.Get(&b.epoch));
      SLUICE_RETURN_NOT_OK(p.Get(&k));
      if (k > static_cast<uint8_t>(runtime::CheckpointKind::kEnd)) {
        return p.Corrupt(fmt::format("unknown checkpoint kind {}", k));
      }
      b.kind = static_cast<runtime::CheckpointKind>(k);
      f.message = b;
      break;
    }
    case FrameKind::kEndOfData:
      f.message = runtime::EndOfData{};
      break;
    case FrameKind::kIdle:
      f.message = runtime::Idle{};
      break;
    case FrameKind::kCredit:
      SLUICE_RETURN_NOT_OK(p.Get(&f.credit));
      if (f.credit <= 0) return p.Corrupt(fmt::format("a credit of {} bytes", f.credit));
      break;
  }
  if (!p.empty()) return p.Corrupt("bytes left after the payload");
  return f;
}

}  // namespace sluice::dist
