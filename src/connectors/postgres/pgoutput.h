#pragma once
// A reader of PostgreSQL's logical replication protocol as the `pgoutput` plugin writes it
// (protocol version 1:
// https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html), and of the
// streaming replication frames around it (XLogData, primary keepalive).
//
// Pure parsing, no I/O: views point into the caller's buffer and stay valid as long as it does.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::connectors::postgres {

// A position in PostgreSQL's write-ahead log. Printed as PostgreSQL does ("16/B374D848").
struct Lsn {
  uint64_t value = 0;
  auto operator<=>(const Lsn&) const = default;
  std::string ToString() const;
  static Result<Lsn> Parse(std::string_view text);
};

// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
inline constexpr int64_t kPostgresEpochMicros = 946684800000000LL;

// One column value of a tuple: NULL, a TOASTed value that did not change (not sent), or text.
struct TupleValue {
  enum class Kind : char { kNull = 'n', kUnchangedToast = 'u', kText = 't' } kind = Kind::kNull;
  std::string_view text;
};

struct RelationColumn {
  std::string name;
  uint32_t type_oid = 0;
  bool key = false;  // part of the replica identity
};

enum class MessageType {
  kBegin,
  kCommit,
  kRelation,
  kInsert,
  kUpdate,
  kDelete,
  kTruncate,
  kMessage,  // pg_logical_emit_message
  kOther,    // origin, type: nothing to do
};

struct PgOutputMessage {
  MessageType type = MessageType::kOther;
  // Begin: the transaction's commit LSN; Commit: the commit record's LSN; Message: its LSN.
  Lsn lsn;
  Lsn end_lsn;                 // Commit: the end of the commit record
  int64_t commit_time_us = 0;  // Begin, Commit: Unix microseconds
  uint32_t relation = 0;       // Relation, Insert, Update, Delete
  // Relation.
  std::string schema_name, table_name;
  char replica_identity = 'd';
  std::vector<RelationColumn> columns;
  // Insert (new), Update (old when sent, new), Delete (old: the key, or the row for FULL).
  bool has_old = false;
  bool old_is_key_only = false;  // 'K': only the replica identity's columns are set
  std::vector<TupleValue> old_tuple, new_tuple;
  // Message.
  bool transactional = false;
  std::string_view prefix, content;
  // Truncate.
  std::vector<uint32_t> truncated;
};

// Parses one pgoutput message (the payload of an XLogData frame).
Status ParsePgOutput(std::string_view data, PgOutputMessage* out);

// The frames of the COPY BOTH stream of START_REPLICATION.
struct ReplicationFrame {
  enum class Kind { kXLogData, kKeepalive, kOther } kind = Kind::kOther;
  Lsn wal_start;  // XLogData
  Lsn wal_end;    // XLogData, keepalive: the server's position
  bool reply_requested = false;
  std::string_view payload;  // XLogData: the pgoutput message
};
Status ParseReplicationFrame(std::string_view data, ReplicationFrame* out);

// The standby status update ('r') that reports the written, flushed and applied positions.
std::string StandbyStatusUpdate(Lsn written, Lsn flushed, Lsn applied, int64_t now_unix_us,
                                bool reply_requested);

}  // namespace sluice::connectors::postgres
