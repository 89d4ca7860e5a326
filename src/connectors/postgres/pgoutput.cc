// Parsing of pgoutput messages and replication frames; see pgoutput.h.

#include "connectors/postgres/pgoutput.h"

#include <cstring>

#include <fmt/format.h>

namespace sluice::connectors::postgres {

namespace {

// Reads big-endian integers and strings from a message, remembering the first overrun.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }
  bool done() const { return pos_ >= data_.size(); }

  uint64_t Int(size_t bytes) {
    if (!Need(bytes)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data_[pos_ + i]);
    pos_ += bytes;
    return v;
  }
  char Byte() { return static_cast<char>(Int(1)); }
  // A NUL-terminated string.
  std::string_view CString() {
    if (!ok_) return {};
    size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) {
      ok_ = false;
      return {};
    }
    std::string_view s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

int64_t UnixMicros(uint64_t pg_micros) {
  return static_cast<int64_t>(pg_micros) + kPostgresEpochMicros;
}

bool ReadTuple(Reader& r, std::vector<TupleValue>* out) {
  size_t n = r.Int(2);
  out->resize(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    TupleValue& v = (*out)[i];
    char kind = r.Byte();
    switch (kind) {
      case 'n':
        v = {TupleValue::Kind::kNull, {}};
        break;
      case 'u':
        v = {TupleValue::Kind::kUnchangedToast, {}};
        break;
      case 't': {
        size_t len = r.Int(4);
        v = {TupleValue::Kind::kText, r.Bytes(len)};
        break;
      }
      default:  // 'b' (binary) is never asked for
        return false;
    }
  }
  return r.ok();
}

}  // namespace

std::string Lsn::ToString() const {
  return fmt::format("{:X}/{:X}", value >> 32, value & 0xffffffffULL);
}

Result<Lsn> Lsn::Parse(std::string_view text) {
  size_t slash = text.find('/');
  uint64_t hi = 0, lo = 0;
  auto hex = [](std::string_view s, uint64_t* v) {
    if (s.empty() || s.size() > 8) return false;
    for (char c : s) {
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                     : -1;
      if (d < 0) return false;
      *v = *v * 16 + static_cast<uint64_t>(d);
    }
    return true;
  };
  if (slash == std::string_view::npos || !hex(text.substr(0, slash), &hi) ||
      !hex(text.substr(slash + 1), &lo)) {
    return Status::Io("invalid LSN '{}' from PostgreSQL", text);
  }
  return Lsn{(hi << 32) | lo};
}

Status ParsePgOutput(std::string_view data, PgOutputMessage* out) {
  Reader r(data);
  char tag = r.Byte();
  out->has_old = false;
  out->old_is_key_only = false;
  switch (tag) {
    case 'B':
      out->type = MessageType::kBegin;
      out->lsn = Lsn{r.Int(8)};
      out->commit_time_us = UnixMicros(r.Int(8));
      r.Int(4);  // xid
      break;
    case 'C':
      out->type = MessageType::kCommit;
      r.Byte();  // flags
      out->lsn = Lsn{r.Int(8)};
      out->end_lsn = Lsn{r.Int(8)};
      out->commit_time_us = UnixMicros(r.Int(8));
      break;
    case 'R': {
      out->type = MessageType::kRelation;
      out->relation = static_cast<uint32_t>(r.Int(4));
      out->schema_name = std::string(r.CString());
      out->table_name = std::string(r.CString());
      out->replica_identity = r.Byte();
      size_t n = r.Int(2);
      out->columns.clear();
      for (size_t i = 0; i < n && r.ok(); ++i) {
        RelationColumn c;
        c.key = (r.Byte() & 1) != 0;
        c.name = std::string(r.CString());
        c.type_oid = static_cast<uint32_t>(r.Int(4));
        r.Int(4);  // type modifier
        out->columns.push_back(std::move(c));
      }
      break;
    }
    case 'I':
      out->type = MessageType::kInsert;
      out->relation = static_cast<uint32_t>(r.Int(4));
      if (r.Byte() != 'N' || !ReadTuple(r, &out->new_tuple)) {
        return Status::Io("malformed pgoutput insert message");
      }
      break;
    case 'U': {
      out->type = MessageType::kUpdate;
      out->relation = static_cast<uint32_t>(r.Int(4));
      char k = r.Byte();
      if (k == 'K' || k == 'O') {
        out->has_old = true;
        out->old_is_key_only = k == 'K';
        if (!ReadTuple(r, &out->old_tuple)) return Status::Io("malformed pgoutput update message");
        k = r.Byte();
      }
      if (k != 'N' || !ReadTuple(r, &out->new_tuple)) {
        return Status::Io("malformed pgoutput update message");
      }
      break;
    }
    case 'D': {
      out->type = MessageType::kDelete;
      out->relation = static_cast<uint32_t>(r.Int(4));
      char k = r.Byte();
      if ((k != 'K' && k != 'O') || !ReadTuple(r, &out->old_tuple)) {
        return Status::Io("malformed pgoutput delete message");
      }
      out->has_old = true;
      out->old_is_key_only = k == 'K';
      break;
    }
    case 'T': {
      out->type = MessageType::kTruncate;
      size_t n = r.Int(4);
      r.Byte();  // options
      out->truncated.clear();
      for (size_t i = 0; i < n && r.ok(); ++i) {
        out->truncated.push_back(static_cast<uint32_t>(r.Int(4)));
      }
      break;
    }
    case 'M': {
      out->type = MessageType::kMessage;
      out->transactional = (r.Byte() & 1) != 0;
      out->lsn = Lsn{r.Int(8)};
      out->prefix = r.CString();
      size_t len = r.Int(4);
      out->content = r.Bytes(len);
      break;
    }
    default:
      out->type = MessageType::kOther;
      return Status::Ok();
  }
  if (!r.ok()) return Status::Io("malformed pgoutput message (type '{}')", tag);
  return Status::Ok();
}

Status ParseReplicationFrame(std::string_view data, ReplicationFrame* out) {
  Reader r(data);
  char tag = r.Byte();
  if (tag == 'w') {
    out->kind = ReplicationFrame::Kind::kXLogData;
    out->wal_start = Lsn{r.Int(8)};
    out->wal_end = Lsn{r.Int(8)};
    r.Int(8);  // send time
    if (!r.ok()) return Status::Io("malformed XLogData frame from PostgreSQL");
    out->payload = data.substr(25);
    out->reply_requested = false;
    return Status::Ok();
  }
  if (tag == 'k') {
    out->kind = ReplicationFrame::Kind::kKeepalive;
    out->wal_end = Lsn{r.Int(8)};
    r.Int(8);  // send time
    out->reply_requested = r.Byte() != 0;
    if (!r.ok()) return Status::Io("malformed keepalive frame from PostgreSQL");
    return Status::Ok();
  }
  out->kind = ReplicationFrame::Kind::kOther;
  return Status::Ok();
}

std::string StandbyStatusUpdate(Lsn written, Lsn flushed, Lsn applied, int64_t now_unix_us,
                                bool reply_requested) {
  std::string s(34, '\0');
  s[0] = 'r';
  auto put = [&](size_t at, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
      s[at + static_cast<size_t>(7 - i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
  };
  put(1, written.value);
  put(9, flushed.value);
  put(17, applied.value);
  put(25, static_cast<uint64_t>(now_unix_us - kPostgresEpochMicros));
  s[33] = reply_requested ? 1 : 0;
  return s;
}

}  // namespace sluice::connectors::postgres
