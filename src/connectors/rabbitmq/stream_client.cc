// The RabbitMQ stream protocol client; see stream_client.h. Frames are big-endian: a uint32
// size, then key (uint16, 0x8000 set on responses), version (uint16) and the command's fields.

#include "connectors/rabbitmq/stream_client.h"

#include <zlib.h>

#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "common/time.h"
#include "connectors/net/buffered_socket.h"

namespace sluice::connectors::rabbitmq {

namespace {

constexpr uint16_t kPeerProperties = 0x11;
constexpr uint16_t kSaslHandshake = 0x12;
constexpr uint16_t kSaslAuthenticate = 0x13;
constexpr uint16_t kTune = 0x14;
constexpr uint16_t kOpen = 0x15;
constexpr uint16_t kClose = 0x16;
constexpr uint16_t kHeartbeat = 0x17;
constexpr uint16_t kSubscribe = 0x07;
constexpr uint16_t kDeliver = 0x08;
constexpr uint16_t kCredit = 0x09;
constexpr uint16_t kStoreOffset = 0x0a;
constexpr uint16_t kQueryOffset = 0x0b;
constexpr uint16_t kMetadata = 0x0f;
constexpr uint16_t kMetadataUpdate = 0x10;
constexpr uint16_t kResponse = 0x8000;
constexpr uint16_t kOk = 0x01;
constexpr uint16_t kStreamDoesNotExist = 0x02;
constexpr uint16_t kNoOffset = 0x13;
constexpr size_t kChunkHeaderBytes = 48;
constexpr uint32_t kMaxFrameBytes = 64u << 20;  // refuse anything larger than the tuned size

int64_t NowMicros() {
  return Now().value;
}

// Big-endian writer of one frame (its size filled in by Finish).
class FrameWriter {
 public:
  explicit FrameWriter(std::string* out) : out_(out) {
    out_->clear();
    out_->append(4, '\0');
  }
  FrameWriter& U8(uint8_t v) {
    out_->push_back(static_cast<char>(v));
    return *this;
  }
  FrameWriter& U16(uint16_t v) { return U8(static_cast<uint8_t>(v >> 8)).U8(v & 0xff); }
  FrameWriter& U32(uint32_t v) { return U16(static_cast<uint16_t>(v >> 16)).U16(v & 0xffff); }
  FrameWriter& U64(uint64_t v) {
    return U32(static_cast<uint32_t>(v >> 32)).U32(static_cast<uint32_t>(v));
  }
  FrameWriter& Str(std::string_view s) {
    U16(static_cast<uint16_t>(s.size()));
    out_->append(s);
    return *this;
  }
  FrameWriter& Bytes(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->append(s);
    return *this;
  }
  void Finish() {
    const uint32_t n = static_cast<uint32_t>(out_->size() - 4);
    for (int i = 0; i < 4; ++i) (*out_)[i] = static_cast<char>(n >> (24 - 8 * i));
  }

 private:
  std::string* out_;
};

// Big-endian reader over a frame; reads past the end set `bad` and return zeros.
struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  bool bad = false;
  explicit Reader(std::string_view s)
      : p(reinterpret_cast<const unsigned char*>(s.data())), end(p + s.size()) {}
  bool Need(size_t n) {
    if (static_cast<size_t>(end - p) < n) bad = true;
    return !bad;
  }
  uint64_t Be(size_t n) {
    if (!Need(n)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
    p += n;
    return v;
  }
  uint8_t U8() { return static_cast<uint8_t>(Be(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Be(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Be(4)); }
  uint64_t U64() { return Be(8); }
  std::string_view Take(size_t n) {
    if (!Need(n)) return {};
    std::string_view s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
  std::string_view Str() {
    const int16_t n = static_cast<int16_t>(U16());
    return n <= 0 ? std::string_view() : Take(static_cast<size_t>(n));
  }
  size_t left() const { return static_cast<size_t>(end - p); }
};

// A sub-entry batch's compression (the Cmp bits).
std::string_view CompressionName(int c) {
  switch (c) {
    case 0:
      return "none";
    case 1:
      return "gzip";
    case 2:
      return "snappy";
    case 3:
      return "lz4";
    case 4:
      return "zstd";
    default:
      return "unknown";
  }
}

Status Inflate(std::string_view in, size_t expect, std::string* out) {
  out->resize(expect);
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return Status::Internal("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(out->size());
  const int rc = inflate(&z, Z_FINISH);
  const size_t produced = out->size() - z.avail_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != expect) {
    return Status::Io("a gzip sub-entry batch does not inflate to its stated {} bytes", expect);
  }
  return Status::Ok();
}

}  // namespace

std::string_view ResponseCodeName(uint16_t code) {
  switch (code) {
    case 0x01:
      return "OK";
    case 0x02:
      return "STREAM_DOES_NOT_EXIST";
    case 0x03:
      return "SUBSCRIPTION_ID_ALREADY_EXISTS";
    case 0x04:
      return "SUBSCRIPTION_ID_DOES_NOT_EXIST";
    case 0x05:
      return "STREAM_ALREADY_EXISTS";
    case 0x06:
      return "STREAM_NOT_AVAILABLE";
    case 0x07:
      return "SASL_MECHANISM_NOT_SUPPORTED";
    case 0x08:
      return "AUTHENTICATION_FAILURE";
    case 0x09:
      return "SASL_ERROR";
    case 0x0a:
      return "SASL_CHALLENGE";
    case 0x0b:
      return "SASL_AUTHENTICATION_FAILURE_LOOPBACK";
    case 0x0c:
      return "VIRTUAL_HOST_ACCESS_FAILURE";
    case 0x0d:
      return "UNKNOWN_FRAME";
    case 0x0e:
      return "FRAME_TOO_LARGE";
    case 0x0f:
      return "INTERNAL_ERROR";
    case 0x10:
      return "ACCESS_REFUSED";
    case 0x11:
      return "PRECONDITION_FAILED";
    case 0x12:
      return "PUBLISHER_DOES_NOT_EXIST";
    case 0x13:
      return "NO_OFFSET";
    default:
      return "UNKNOWN_RESPONSE_CODE";
  }
}

// ---------------------------------------------------------------------------------------------
// AMQP 1.0 message sections (OASIS AMQP 1.0, part 3): each is a described type, 0x00 then a
// descriptor (ulong code or symbol) then the value. Values are skipped by their constructor's
// width class (the high nibble: 0x4 empty ... 0xb variable with a 4-byte size, 0xc/0xd compound,
// 0xe/0xf array).

namespace {

bool SkipValue(Reader& r, int depth);

// Skips the rest of a value whose constructor `c` was read.
bool SkipAfterConstructor(Reader& r, uint8_t c, int depth) {
  if (c == 0x00) return depth < 16 && SkipValue(r, depth + 1) && SkipValue(r, depth + 1);
  switch (c >> 4) {
    case 0x4:
      return true;
    case 0x5:
      r.Take(1);
      break;
    case 0x6:
      r.Take(2);
      break;
    case 0x7:
      r.Take(4);
      break;
    case 0x8:
      r.Take(8);
      break;
    case 0x9:
      r.Take(16);
      break;
    case 0xa:
    case 0xc:
    case 0xe:
      r.Take(r.U8());
      break;
    case 0xb:
    case 0xd:
    case 0xf:
      r.Take(r.U32());
      break;
    default:
      return false;
  }
  return !r.bad;
}

bool SkipValue(Reader& r, int depth) {
  const uint8_t c = r.U8();
  return !r.bad && SkipAfterConstructor(r, c, depth);
}

}  // namespace

Result<std::string_view> AmqpBody(std::string_view record, std::string* scratch) {
  if (record.empty() || static_cast<uint8_t>(record[0]) != 0x00) return record;  // not AMQP
  Reader r(record);
  std::string_view first;
  int data_sections = 0;
  while (r.left() > 0) {
    if (r.U8() != 0x00)
      return Status::Io("malformed AMQP 1.0 message: a section without descriptor");
    // The descriptor: smallulong / ulong code, or a symbol name.
    uint64_t code = 0;
    const uint8_t dc = r.U8();
    if (dc == 0x53) {
      code = r.U8();
    } else if (dc == 0x80) {
      code = r.U64();
    } else if (dc == 0xa3 || dc == 0xb3) {
      std::string_view name = r.Take(dc == 0xa3 ? r.U8() : r.U32());
      if (name == "amqp:data:binary") code = 0x75;
      if (name == "amqp:amqp-value:*") code = 0x77;
    } else {
      return Status::Io("malformed AMQP 1.0 message: section descriptor 0x{:02x}", dc);
    }
    if (r.bad) break;
    const uint8_t c = r.U8();
    if (r.bad) break;
    const bool bytes = c == 0xa0 || c == 0xb0 || c == 0xa1 || c == 0xb1;
    if ((code == 0x75 || code == 0x77) && bytes) {
      std::string_view v = r.Take((c & 0xf0) == 0xa0 ? r.U8() : r.U32());
      if (r.bad) break;
      if (code == 0x77) return v;  // amqp-value: binary or string
      if (data_sections++ == 0) {
        first = v;
      } else {
        if (data_sections == 2) scratch->assign(first);
        scratch->append(v);
      }
      continue;
    }
    if (code == 0x75) return Status::Io("malformed AMQP 1.0 message: a data section not binary");
    if (!SkipAfterConstructor(r, c, 0)) break;
  }
  if (r.bad) return Status::Io("malformed AMQP 1.0 message: truncated section");
  if (data_sections == 0) {
    return Status::Io("AMQP 1.0 message without a data section or a binary/string amqp-value");
  }
  return data_sections == 1 ? first : std::string_view(*scratch);
}

// ---------------------------------------------------------------------------------------------

class StreamConnection::Impl {
 public:
  ConnectOptions opt;
  std::unique_ptr<net::BufferedSocket> sock;  // received frames are read from its buffer
  size_t consumed = 0;  // the frame returned last ends here: dropped on the next read
  std::string out;      // frame being written
  uint32_t next_corr = 1;
  uint32_t frame_max = 0;
  int64_t heartbeat_us = 0;
  int64_t last_sent_us = 0;
  int64_t last_received_us = 0;
  std::deque<std::string> early;             // Deliver frames that arrived during a request
  std::string early_frame;                   // the one handed out last
  std::deque<std::string> inflated_batches;  // a deque: views into them survive growth
  size_t inflated_used = 0;

  std::string Address() const { return fmt::format("{}:{}", opt.host, opt.port); }

  Status ConnectSocket(int64_t deadline) {
    net::SocketOptions so;
    so.host = opt.host;
    so.port = opt.port;
    auto s = net::BufferedSocket::Connect(so, deadline,
                                          fmt::format("the RabbitMQ server at {}", Address()));
    if (!s.ok()) {
      return Status::Io(
          "cannot connect to the RabbitMQ stream port at {}: {} (is the server "
          "running with the rabbitmq_stream plugin?)",
          Address(), s.status().message());
    }
    sock = std::move(*s);
    return Status::Ok();
  }

  Status Send(int64_t deadline) {
    SLUICE_RETURN_NOT_OK(sock->Send(out, deadline));
    last_sent_us = NowMicros();
    return Status::Ok();
  }

  // The next whole frame (its content, after the size) within the deadline; empty when none.
  Result<std::string_view> ReadFrame(int64_t deadline) {
    if (consumed > 0) {
      sock->Consume(consumed);
      consumed = 0;
    }
    for (;;) {
      const std::string_view b = sock->buffered();
      size_t want = 0;
      if (b.size() >= 4) {
        const auto* p = reinterpret_cast<const unsigned char*>(b.data());
        const uint32_t n =
            (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
        if (n > kMaxFrameBytes) {
          return Status::Io("the RabbitMQ server at {} sent a frame of {} bytes", Address(), n);
        }
        if (b.size() >= 4 + size_t{n}) {
          consumed = 4 + size_t{n};
          return b.substr(4, n);
        }
        want = 4 + size_t{n};
      }
      SLUICE_ASSIGN_OR_RETURN(size_t got, sock->Read(want));
      if (got > 0) {
        last_received_us = NowMicros();
        continue;
      }
      const int64_t wait = deadline - NowMicros();
      if (wait <= 0) return std::string_view();
      sock->WaitReadable(std::min<int64_t>(wait, 1'000'000));
    }
  }

  // Answers what the server may send at any time: heartbeats, its Close, metadata updates.
  // True when `frame` was such a frame.
  Result<bool> HandleControl(std::string_view frame) {
    Reader r(frame);
    const uint16_t key = r.U16();
    r.U16();
    if (key == kHeartbeat) return true;
    if (key == kClose) {
      const uint32_t corr = r.U32();
      const uint16_t code = r.U16();
      const std::string reason(r.Str());
      FrameWriter(&out).U16(kClose | kResponse).U16(1).U32(corr).U16(kOk).Finish();
      (void)Send(NowMicros() + 1'000'000);
      return Status::Io("the RabbitMQ server at {} closed the connection: {} ({})", Address(),
                        reason, ResponseCodeName(code));
    }
    if (key == kMetadataUpdate) {
      const uint16_t code = r.U16();
      const std::string stream(r.Str());
      return Status::Io(
          "RabbitMQ stream '{}' on {} became unavailable ({}): deleted, or its "
          "leader moved",
          stream, Address(), ResponseCodeName(code));
    }
    if (key == (kCredit | kResponse)) {
      const uint16_t code = r.U16();
      return Status::Io("the RabbitMQ server at {} refused credit: {}", Address(),
                        ResponseCodeName(code));
    }
    return false;
  }

  // Sends the request in `out` (correlation id `corr`) and returns the response's content
  // after its response code, or an error naming `what` and the code.
  Result<std::string_view> Request(uint16_t key, uint32_t corr, const std::string& what,
                                   int64_t deadline, uint16_t* code_out = nullptr) {
    SLUICE_RETURN_NOT_OK(Send(deadline));
    for (;;) {
      SLUICE_ASSIGN_OR_RETURN(std::string_view frame, ReadFrame(deadline));
      if (frame.empty()) {
        return Status::Io("the RabbitMQ server at {} did not answer {} in time", Address(), what);
      }
      Reader r(frame);
      const uint16_t k = r.U16();
      r.U16();
      if (k == (key | kResponse)) {
        const uint32_t c = r.U32();
        if (c != corr) continue;
        const uint16_t code = r.U16();
        if (code_out != nullptr) {
          *code_out = code;
        } else if (code != kOk) {
          return Status::Io("RabbitMQ at {}: {} failed: {}", Address(), what,
                            ResponseCodeName(code));
        }
        return frame.substr(frame.size() - r.left());
      }
      if (k == kDeliver) {
        early.emplace_back(frame);
        continue;
      }
      if (k == kTune) continue;  // handled by Connect
      SLUICE_RETURN_NOT_OK(HandleControl(frame).status());
    }
  }

  Status Handshake(int64_t deadline) {
    uint32_t corr = next_corr++;
    FrameWriter(&out)
        .U16(kPeerProperties)
        .U16(1)
        .U32(corr)
        .U32(2)
        .Str("product")
        .Str("Sluice")
        .Str("connection_name")
        .Str("sluice source")
        .Finish();
    SLUICE_RETURN_NOT_OK(
        Request(kPeerProperties, corr, "the peer properties exchange", deadline).status());
    corr = next_corr++;
    FrameWriter(&out).U16(kSaslHandshake).U16(1).U32(corr).Finish();
    SLUICE_ASSIGN_OR_RETURN(std::string_view mechs,
                            Request(kSaslHandshake, corr, "the SASL handshake", deadline));
    Reader m(mechs);
    bool plain = false;
    for (uint32_t i = 0, n = m.U32(); i < n && !m.bad; ++i) plain |= m.Str() == "PLAIN";
    if (!plain) {
      return Status::Io("the RabbitMQ server at {} does not offer SASL PLAIN", Address());
    }
    corr = next_corr++;
    std::string sasl;
    sasl.push_back('\0');
    sasl += opt.username;
    sasl.push_back('\0');
    sasl += opt.password;
    FrameWriter(&out).U16(kSaslAuthenticate).U16(1).U32(corr).Str("PLAIN").Bytes(sasl).Finish();
    std::fill(sasl.begin(), sasl.end(), '\0');
    uint16_t code = 0;
    SLUICE_RETURN_NOT_OK(
        Request(kSaslAuthenticate, corr, "authentication", deadline, &code).status());
    std::fill(out.begin(), out.end(), '\0');
    if (code == 0x08 || code == 0x0b) {
      return Status::User(
          "RabbitMQ at {} refused user '{}': {} (check username and password; the default user "
          "guest may only connect from localhost)",
          Address(), opt.username, ResponseCodeName(code));
    }
    if (code != kOk) {
      return Status::Io("RabbitMQ at {}: authentication failed: {}", Address(),
                        ResponseCodeName(code));
    }
    // The server's Tune: accept its frame size, and the smaller heartbeat.
    for (;;) {
      SLUICE_ASSIGN_OR_RETURN(std::string_view frame, ReadFrame(deadline));
      if (frame.empty()) {
        return Status::Io("the RabbitMQ server at {} sent no Tune in time", Address());
      }
      Reader r(frame);
      if (r.U16() != kTune) continue;
      r.U16();
      frame_max = r.U32();
      uint32_t hb = r.U32();
      if (hb == 0 || (opt.heartbeat_s > 0 && opt.heartbeat_s < hb)) hb = opt.heartbeat_s;
      heartbeat_us = int64_t{hb} * 1'000'000;
      FrameWriter(&out).U16(kTune | kResponse).U16(1).U32(frame_max).U32(hb).Finish();
      SLUICE_RETURN_NOT_OK(Send(deadline));
      break;
    }
    corr = next_corr++;
    FrameWriter(&out).U16(kOpen).U16(1).U32(corr).Str(opt.virtual_host).Finish();
    code = 0;
    SLUICE_RETURN_NOT_OK(
        Request(kOpen, corr, "opening the virtual host", deadline, &code).status());
    if (code == 0x0c) {
      return Status::User("RabbitMQ at {}: user '{}' may not access virtual host '{}' ({})",
                          Address(), opt.username, opt.virtual_host, ResponseCodeName(code));
    }
    if (code != kOk) {
      return Status::Io("RabbitMQ at {}: opening virtual host '{}' failed: {}", Address(),
                        opt.virtual_host, ResponseCodeName(code));
    }
    return Status::Ok();
  }

  Status MaybeHeartbeat() {
    if (heartbeat_us <= 0) return Status::Ok();
    const int64_t now = NowMicros();
    if (now - last_sent_us > heartbeat_us / 2) {
      FrameWriter(&out).U16(kHeartbeat).U16(1).Finish();
      SLUICE_RETURN_NOT_OK(Send(now + 5'000'000));
    }
    if (last_received_us > 0 && now - last_received_us > 2 * heartbeat_us + 5'000'000) {
      return Status::Io("the RabbitMQ server at {} sent nothing for {} s (heartbeats missed)",
                        Address(), (now - last_received_us) / 1'000'000);
    }
    return Status::Ok();
  }

  // Parses a Deliver frame's chunk into *chunk; false for chunks without user records.
  Result<bool> ParseDeliver(std::string_view frame, Chunk* chunk) {
    Reader r(frame);
    r.U16();
    r.U16();
    r.U8();  // subscription id
    const std::string_view header = r.Take(kChunkHeaderBytes);
    if (r.bad)
      return Status::Io("truncated chunk header from the RabbitMQ server at {}", Address());
    Reader h(header);
    const uint8_t magic = h.U8();
    if ((magic >> 4) != 5) {
      return Status::Io("the RabbitMQ server at {} sent a chunk with magic {:#x}", Address(),
                        magic >> 4);
    }
    const uint8_t type = h.U8();
    const uint16_t entries = h.U16();
    const uint32_t records = h.U32();
    chunk->timestamp_ms = static_cast<int64_t>(h.U64());
    h.U64();  // epoch
    chunk->first_offset = h.U64();
    const uint32_t crc = h.U32();
    const uint32_t data_len = h.U32();
    h.U32();  // trailer length
    const uint8_t bloom = h.U8();
    r.Take(bloom);  // a filter's bloom data (RabbitMQ 3.13 and later) precedes the data
    const std::string_view data = r.Take(data_len);
    if (r.bad) return Status::Io("truncated chunk from the RabbitMQ server at {}", Address());
    const uint32_t actual = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    if (actual != crc) {
      return Status::Io(
          "chunk at offset {} from the RabbitMQ server at {} fails its CRC32 check "
          "({:08x} != {:08x})",
          chunk->first_offset, Address(), actual, crc);
    }
    chunk->records.clear();
    if (type != 0) return false;  // tracking chunks
    chunk->records.reserve(records);
    inflated_used = 0;
    Reader d(data);
    for (uint16_t e = 0; e < entries && !d.bad; ++e) {
      const uint8_t first = d.left() > 0 ? *d.p : 0;
      if ((first & 0x80) == 0) {
        const uint32_t n = d.U32();
        chunk->records.push_back(d.Take(n));
        continue;
      }
      const int compression = (d.U8() >> 4) & 0x7;
      const uint16_t count = d.U16();
      const uint32_t uncompressed = d.U32();
      const uint32_t len = d.U32();
      std::string_view body = d.Take(len);
      if (d.bad) break;
      if (compression == 1) {
        if (inflated_used == inflated_batches.size()) inflated_batches.emplace_back();
        std::string& into = inflated_batches[inflated_used++];
        SLUICE_RETURN_NOT_OK(Inflate(body, uncompressed, &into));
        body = into;
      } else if (compression != 0) {
        return Status::NotSupported(
            "the RabbitMQ stream has a sub-entry batch compressed with {} at chunk offset {}: "
            "Sluice reads uncompressed and gzip batches only (publish with gzip or without "
            "compression)",
            CompressionName(compression), chunk->first_offset);
      }
      Reader b(body);
      for (uint16_t i = 0; i < count && !b.bad; ++i) chunk->records.push_back(b.Take(b.U32()));
      if (b.bad) d.bad = true;
    }
    if (d.bad) {
      return Status::Io("malformed chunk at offset {} from the RabbitMQ server at {}",
                        chunk->first_offset, Address());
    }
    return true;
  }
};

Result<std::unique_ptr<StreamConnection>> StreamConnection::Connect(const ConnectOptions& options) {
  std::unique_ptr<StreamConnection> c(new StreamConnection());
  c->impl_ = std::make_unique<Impl>();
  Impl& i = *c->impl_;
  i.opt = options;
  const int64_t deadline = NowMicros() + options.connect_timeout_us;
  SLUICE_RETURN_NOT_OK(i.ConnectSocket(deadline));
  Status st = i.Handshake(deadline);
  if (!st.ok()) {
    if (NowMicros() >= deadline && st.kind() != ErrorKind::kUser) {
      return Status::Io(
          "cannot connect to the RabbitMQ stream port at {}: no answer within {} s "
          "({})",
          i.Address(), options.connect_timeout_us / 1'000'000, st.message());
    }
    return st;
  }
  return c;
}

StreamConnection::~StreamConnection() = default;

std::string StreamConnection::address() const {
  return impl_->Address();
}

Status StreamConnection::Subscribe(const std::string& stream, OffsetSpec offset, uint16_t credit) {
  Impl& i = *impl_;
  const uint32_t corr = i.next_corr++;
  FrameWriter w(&i.out);
  w.U16(kSubscribe).U16(1).U32(corr).U8(0).Str(stream).U16(offset.kind);
  if (offset.kind == OffsetSpec::kOffset || offset.kind == OffsetSpec::kTimestamp) {
    w.U64(static_cast<uint64_t>(offset.value));
  }
  w.U16(credit).U32(0);
  w.Finish();
  uint16_t code = 0;
  SLUICE_RETURN_NOT_OK(
      i.Request(kSubscribe, corr, "subscribing", NowMicros() + 30'000'000, &code).status());
  if (code == kStreamDoesNotExist) {
    return Status::User(
        "RabbitMQ stream '{}' does not exist on {} (create it, e.g. "
        "`rabbitmq-streams add_stream`, or declare a queue with "
        "x-queue-type=stream)",
        stream, i.Address());
  }
  if (code != kOk) {
    return Status::Io("RabbitMQ at {}: subscribing to stream '{}' failed: {}", i.Address(), stream,
                      ResponseCodeName(code));
  }
  return Status::Ok();
}

Status StreamConnection::Credit(uint16_t chunks) {
  Impl& i = *impl_;
  FrameWriter(&i.out).U16(kCredit).U16(1).U8(0).U16(chunks).Finish();
  return i.Send(NowMicros() + 10'000'000);
}

Status StreamConnection::NextChunk(int64_t timeout_us, Chunk* chunk, bool* got) {
  Impl& i = *impl_;
  *got = false;
  SLUICE_RETURN_NOT_OK(i.MaybeHeartbeat());
  while (!i.early.empty()) {
    i.early_frame = std::move(i.early.front());
    i.early.pop_front();
    SLUICE_ASSIGN_OR_RETURN(*got, i.ParseDeliver(i.early_frame, chunk));
    if (*got) return Status::Ok();
    SLUICE_RETURN_NOT_OK(Credit(1));
  }
  const int64_t deadline = NowMicros() + timeout_us;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(std::string_view frame, i.ReadFrame(deadline));
    if (frame.empty()) return Status::Ok();
    Reader r(frame);
    const uint16_t key = r.U16();
    if (key == kDeliver) {
      SLUICE_ASSIGN_OR_RETURN(*got, i.ParseDeliver(frame, chunk));
      if (*got) return Status::Ok();
      SLUICE_RETURN_NOT_OK(Credit(1));  // a chunk without user records used a credit
      continue;
    }
    SLUICE_RETURN_NOT_OK(i.HandleControl(frame).status());
  }
}

Result<std::optional<uint64_t>> StreamConnection::QueryOffset(const std::string& reference,
                                                              const std::string& stream) {
  Impl& i = *impl_;
  const uint32_t corr = i.next_corr++;
  FrameWriter(&i.out).U16(kQueryOffset).U16(1).U32(corr).Str(reference).Str(stream).Finish();
  uint16_t code = 0;
  SLUICE_ASSIGN_OR_RETURN(std::string_view rest, i.Request(kQueryOffset, corr, "querying an offset",
                                                           NowMicros() + 10'000'000, &code));
  if (code == kNoOffset) return std::optional<uint64_t>();
  if (code != kOk) {
    return Status::Io("RabbitMQ at {}: querying the offset of '{}' on stream '{}' failed: {}",
                      i.Address(), reference, stream, ResponseCodeName(code));
  }
  Reader r(rest);
  return std::optional<uint64_t>(r.U64());
}

Status StreamConnection::StoreOffset(const std::string& reference, const std::string& stream,
                                     uint64_t offset) {
  Impl& i = *impl_;
  FrameWriter(&i.out).U16(kStoreOffset).U16(1).Str(reference).Str(stream).U64(offset).Finish();
  return i.Send(NowMicros() + 10'000'000);
}

Result<bool> StreamConnection::StreamExists(const std::string& stream) {
  Impl& i = *impl_;
  const uint32_t corr = i.next_corr++;
  FrameWriter(&i.out).U16(kMetadata).U16(1).U32(corr).U32(1).Str(stream).Finish();
  SLUICE_RETURN_NOT_OK(i.Send(NowMicros() + 10'000'000));
  // The Metadata response carries no response code of its own: brokers, then per stream one.
  const int64_t deadline = NowMicros() + 10'000'000;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(std::string_view frame, i.ReadFrame(deadline));
    if (frame.empty()) {
      return Status::Io("the RabbitMQ server at {} did not answer a metadata query", i.Address());
    }
    Reader r(frame);
    const uint16_t key = r.U16();
    r.U16();
    if (key == kDeliver) {
      i.early.emplace_back(frame);
      continue;
    }
    if (key != (kMetadata | kResponse)) {
      SLUICE_RETURN_NOT_OK(i.HandleControl(frame).status());
      continue;
    }
    if (r.U32() != corr) continue;
    for (uint32_t b = 0, n = r.U32(); b < n && !r.bad; ++b) {
      r.U16();
      r.Str();
      r.U32();
    }
    r.U32();  // one stream asked
    r.Str();
    const uint16_t code = r.U16();
    if (r.bad) return Status::Io("malformed metadata from the RabbitMQ server at {}", i.Address());
    if (code == kOk) return true;
    if (code == kStreamDoesNotExist) return false;
    return Status::Io("RabbitMQ at {}: stream '{}': {}", i.Address(), stream,
                      ResponseCodeName(code));
  }
}

void StreamConnection::Close() {
  Impl& i = *impl_;
  if (i.sock == nullptr) return;
  const uint32_t corr = i.next_corr++;
  FrameWriter(&i.out).U16(kClose).U16(1).U32(corr).U16(kOk).Str("sluice source closed").Finish();
  (void)i.Request(kClose, corr, "closing", NowMicros() + 2'000'000);
  i.sock.reset();
}

}  // namespace sluice::connectors::rabbitmq
