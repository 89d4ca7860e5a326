// postgres-cdc source: one table's consistent snapshot, then its changes, read through logical
// replication (the `pgoutput` plugin, a replication slot and a publication) with libpq. The
// output is an updating stream keyed by the table's primary key: snapshot rows and inserts are
// inserts, an update is its old row (update-before) then its new row (update-after), a delete is
// the old row. The table needs REPLICA IDENTITY FULL, so that PostgreSQL sends the old rows
// (and TOASTed values that an update left unchanged).
//
// Start. The first start creates the slot with an exported snapshot: the snapshot holds exactly
// the transactions committed before the slot's consistent point, the slot decodes exactly those
// after it. The table is read in that snapshot through a cursor ordered by the primary key, then
// the slot is streamed from the consistent point.
//
// Positions (checkpointed; parallelism 1):
//  - done_lsn: the end of the last transaction whose changes were all emitted;
//  - partial: the commit LSN of the transaction being emitted and how many of its changes were;
//  - during the snapshot: the primary key of the last row emitted.
// A restore streams the slot from done_lsn (PostgreSQL sends every transaction committed at or
// after it), skips transactions committed before it and the changes of the partial transaction
// already emitted. The slot's confirmed LSN (what PostgreSQL may discard) advances to a
// checkpoint's done_lsn only when that checkpoint is complete (Commit), so a restore always finds
// its changes in the slot. Restored in the middle of the snapshot, the source reads the rest of
// the table (keys after the last emitted) in the snapshot of a temporary slot created now
// (consistent point L2), and while streaming from the old position drops the changes of those
// keys committed before L2 (they are in the rows it read): every change exactly once.
//
// Bounded reads (source.bounded = 'latest'): the first start writes a non-transactional logical
// message into the WAL right after creating the slot; the read ends when the stream reaches it,
// and the slot is dropped.
//
// Threading: everything runs on the source task's thread. The replication stream and the
// snapshot's FETCHes are read without blocking (PQconsumeInput, PQisBusy); setup statements
// (catalog queries, slot creation) block, bounded by connect.timeout for connecting.

#include "connectors/postgres/pg_cdc_source.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "batch/column_builder.h"
#include "common/text.h"
#include "connectors/postgres/pg_client.h"
#include "connectors/postgres/pgoutput.h"
#include "expr/cast.h"

namespace sluice::connectors::postgres {

namespace {

using runtime::SourcePoll;

// How long a poll that found nothing waits before the next one.
constexpr int64_t kIdlePollMicros = 2000;
// How often the source reports its position to the server (wal_sender_timeout is 60 s).
constexpr int64_t kFeedbackMicros = 5'000'000;
// How long a start waits for the slot to be released by a previous reader.
constexpr int64_t kSlotWaitMicros = 15'000'000;
// How long the stream retries to reconnect after losing its connection (a server restart).
constexpr int64_t kReconnectMicros = 60'000'000;
// The prefix of the logical message that marks the end of a bounded read.
constexpr std::string_view kBoundPrefix = "sluice.bound";
// Version of the checkpointed state.
constexpr int kStateVersion = 1;

enum class Phase : int { kStart = 0, kSnapshot = 1, kStream = 2, kDone = 3 };

// PostgreSQL's integer types: primary keys of these compare as numbers, others as text (bytes,
// the order of COLLATE "C").
bool IsIntegerOid(uint32_t oid) {
  return oid == 20 || oid == 21 || oid == 23;  // int8, int2, int4
}

struct TableColumn {
  std::string name;
  uint32_t type_oid = 0;
};

// A primary key's values in text form, compared as PostgreSQL orders the snapshot's cursor.
int ComparePk(const std::vector<std::string_view>& a, const std::vector<std::string>& b,
              const std::vector<bool>& numeric) {
  for (size_t i = 0; i < a.size(); ++i) {
    int c;
    if (numeric[i]) {
      int64_t x = 0, y = 0;
      std::from_chars(a[i].data(), a[i].data() + a[i].size(), x);
      std::from_chars(b[i].data(), b[i].data() + b[i].size(), y);
      c = x < y ? -1 : x > y ? 1 : 0;
    } else {
      int r = a[i].compare(b[i]);
      c = r < 0 ? -1 : r > 0 ? 1 : 0;
    }
    if (c != 0) return c;
  }
  return 0;
}

// The checkpointed position, serialized as text lines (key=value) after a version line.
struct Position {
  Phase phase = Phase::kStart;
  Lsn done;            // end of the last transaction fully emitted
  Lsn partial_commit;  // commit LSN of the transaction partly emitted (0: none)
  int64_t partial_changes = 0;
  Lsn bound;  // bounded reads: the LSN of the end marker (0: unbounded)
  std::vector<std::string> snapshot_last_pk;  // kSnapshot: key of the last row emitted
  int64_t snapshot_time_us = 0;               // event time of snapshot rows
  // After a restore in the middle of the snapshot: changes to keys after filter_pk committed
  // before filter_lsn are already in the rows read.
  Lsn filter_lsn;
  std::vector<std::string> filter_pk;

  static std::string Escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        out += c;
      }
    }
    return out;
  }
  static std::string Unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        out += s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
      } else {
        out += s[i];
      }
    }
    return out;
  }
  static std::string Join(const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "\t" : "") + Escape(v[i]);
    return s;
  }
  static std::vector<std::string> Split(std::string_view s, size_t n) {
    std::vector<std::string> out;
    if (n == 0) return out;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
      if (i == s.size() || s[i] == '\t') {
        out.push_back(Unescape(s.substr(start, i - start)));
        start = i + 1;
      }
    }
    return out;
  }

  std::string Serialize() const {
    return fmt::format(
        "version={}\nphase={}\ndone={}\npartial_commit={}\npartial_changes={}\nbound={}\n"
        "snapshot_time={}\nfilter_lsn={}\nsnapshot_pk_n={}\nsnapshot_pk={}\nfilter_pk_n={}\n"
        "filter_pk={}\n",
        kStateVersion, static_cast<int>(phase), done.value, partial_commit.value, partial_changes,
        bound.value, snapshot_time_us, filter_lsn.value, snapshot_last_pk.size(),
        Join(snapshot_last_pk), filter_pk.size(), Join(filter_pk));
  }

  static Result<Position> Deserialize(std::string_view text) {
    std::map<std::string, std::string> kv;
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = text.substr(start, nl - start);
      size_t eq = line.find('=');
      if (eq != std::string_view::npos) {
        kv[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
      }
      start = nl + 1;
    }
    auto num = [&](const char* key) -> std::optional<uint64_t> {
      auto it = kv.find(key);
      if (it == kv.end()) return std::nullopt;
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
      if (ec != std::errc() || p != it->second.data() + it->second.size()) return std::nullopt;
      return v;
    };
    auto version = num("version");
    if (!version || *version < 1) return Status::Io("corrupt postgres-cdc source state");
    if (*version > static_cast<uint64_t>(kStateVersion)) {
      return Status::User(
          "the postgres-cdc source state was written by a newer Sluice (version {}); this one "
          "reads version {}",
          *version, kStateVersion);
    }
    Position p;
    for (const char* key : {"phase", "done", "partial_commit", "partial_changes", "bound",
                            "snapshot_time", "filter_lsn", "snapshot_pk_n", "filter_pk_n"}) {
      if (!num(key)) return Status::Io("corrupt postgres-cdc source state (field '{}')", key);
    }
    p.phase = static_cast<Phase>(*num("phase"));
    p.done = Lsn{*num("done")};
    p.partial_commit = Lsn{*num("partial_commit")};
    p.partial_changes = static_cast<int64_t>(*num("partial_changes"));
    p.bound = Lsn{*num("bound")};
    p.snapshot_time_us = static_cast<int64_t>(*num("snapshot_time"));
    p.filter_lsn = Lsn{*num("filter_lsn")};
    p.snapshot_last_pk = Split(kv["snapshot_pk"], *num("snapshot_pk_n"));
    p.filter_pk = Split(kv["filter_pk"], *num("filter_pk_n"));
    return p;
  }
};

class PgCdcSource : public runtime::SourceOperator {
 public:
  PgCdcSource(const TableSpec& spec, const PgOptions& options)
      : spec_(spec), options_(options), label_(fmt::format("table '{}'", spec.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    schema_ = std::make_shared<const types::Schema>(spec_.schema);
    for (const types::Field& f : spec_.schema.fields()) {
      types::TypeId id = f.type.id();
      bool direct = id == types::TypeId::kUtf8 || id == types::TypeId::kJson;
      builders_.emplace_back(direct ? f.type : types::Utf8());
    }
    SLUICE_ASSIGN_OR_RETURN(conn_, PgClient::Connect(options_, false, label_));
    SLUICE_RETURN_NOT_OK(ReadTableDefinition());
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("position"));
    if (!bytes) return Status::Ok();  // nothing stored: a fresh start
    auto pos = Position::Deserialize(*bytes);
    if (!pos.ok()) return pos.status().WithContext(label_);
    pos_ = *pos;
    restored_ = true;
    return Status::Ok();
  }

  Result<SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) return SourcePoll::Finished();
    if (!started_) {
      started_ = true;
      SLUICE_RETURN_NOT_OK(restored_ ? Resume() : FreshStart());
    }
    switch (pos_.phase) {
      case Phase::kStart:
        return Status::Internal("{}: postgres-cdc source polled before its start", label_);
      case Phase::kSnapshot:
        return PollSnapshot(out);
      case Phase::kStream:
        return PollStream(out);
      case Phase::kDone:
        return SourcePoll::Finished();
    }
    return SourcePoll::Finished();
  }

  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    state.Put("position", pos_.Serialize());
    pending_confirm_[checkpoint] = pos_.done;
    return Status::Ok();
  }

  // Checkpoint `checkpoint` is complete: PostgreSQL may discard the WAL before its position.
  Status Commit(int64_t checkpoint) override {
    for (auto it = pending_confirm_.begin();
         it != pending_confirm_.end() && it->first <= checkpoint;) {
      if (it->second > confirmed_) confirmed_ = it->second;
      it = pending_confirm_.erase(it);
    }
    if (streaming_) SLUICE_RETURN_NOT_OK(SendFeedback(false));
    return Status::Ok();
  }

  Status Close() override {
    // A finished bounded read drops its slot (nothing will read it again).
    if (pos_.phase == Phase::kDone && options_.bounded && conn_ != nullptr) {
      repl_.reset();  // the slot must be inactive to be dropped
      Status inactive = WaitSlotInactive();
      auto r = conn_->Exec(
          fmt::format("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
                      "slot_name = {}",
                      conn_->QuoteLiteral(options_.slot)));
      (void)inactive;  // best effort: a slot left behind only holds WAL
      (void)r;
    }
    snapshot_repl_.reset();
    repl_.reset();
    conn_.reset();
    return Status::Ok();
  }

 private:
  // The table's columns, primary key and replica identity; checks them against the declaration.
  Status ReadTableDefinition() {
    std::string qualified =
        conn_->QuoteIdent(options_.schema) + "." + conn_->QuoteIdent(options_.table);
    qualified_ = qualified;
    SLUICE_ASSIGN_OR_RETURN(
        PgResultPtr r,
        conn_->Exec(fmt::format(
            "SELECT c.oid, c.relreplident FROM pg_class c JOIN pg_namespace n ON "
            "n.oid = c.relnamespace WHERE n.nspname = {} AND c.relname = {} AND c.relkind IN "
            "('r', 'p')",
            conn_->QuoteLiteral(options_.schema), conn_->QuoteLiteral(options_.table))));
    if (PQntuples(r.get()) == 0) {
      return Status::User("{}: PostgreSQL table {} does not exist in database '{}' at {}", label_,
                          qualified, options_.database, conn_->server());
    }
    std::string oid = PQgetvalue(r.get(), 0, 0);
    char replident = PQgetvalue(r.get(), 0, 1)[0];
    SLUICE_ASSIGN_OR_RETURN(
        PgResultPtr cols,
        conn_->Exec(fmt::format("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = {} "
                                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                                oid)));
    std::vector<TableColumn> table_columns;
    for (int i = 0; i < PQntuples(cols.get()); ++i) {
      table_columns.push_back(
          {PQgetvalue(cols.get(), i, 0),
           static_cast<uint32_t>(std::strtoul(PQgetvalue(cols.get(), i, 1), nullptr, 10))});
    }
    SLUICE_ASSIGN_OR_RETURN(
        PgResultPtr pk,
        conn_->Exec(fmt::format(
            "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH "
            "ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
            "a.attnum = k.attnum WHERE i.indrelid = {} AND i.indisprimary ORDER BY k.n",
            oid)));
    std::vector<std::string> table_pk;
    for (int i = 0; i < PQntuples(pk.get()); ++i) table_pk.push_back(PQgetvalue(pk.get(), i, 0));
    std::vector<std::string> names;
    for (const TableColumn& c : table_columns) names.push_back(c.name);
    for (const types::Field& f : spec_.schema.fields()) {
      auto it = std::find_if(table_columns.begin(), table_columns.end(),
                             [&](const TableColumn& c) { return c.name == f.name; });
      if (it == table_columns.end()) {
        std::string hint = ClosestMatch(f.name, names);
        return Status::User(
            "{}: column '{}' is not a column of PostgreSQL table {}{}; its columns "
            "are: {}",
            label_, f.name, qualified,
            hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint), fmt::join(names, ", "));
      }
    }
    std::vector<std::string> declared_pk;
    for (int i : spec_.primary_key) declared_pk.push_back(spec_.schema.field(i).name);
    if (table_pk.empty()) {
      return Status::User(
          "{}: PostgreSQL table {} has no primary key; the postgres-cdc source "
          "needs one to key its changes",
          label_, qualified);
    }
    if (declared_pk != table_pk) {
      return Status::User(
          "{}: the declared PRIMARY KEY ({}) is not PostgreSQL table {}'s "
          "primary key ({}); declare PRIMARY KEY ({})",
          label_, fmt::join(declared_pk, ", "), qualified, fmt::join(table_pk, ", "),
          fmt::join(table_pk, ", "));
    }
    if (replident != 'f') {
      return Status::User(
          "{}: PostgreSQL table {} must have REPLICA IDENTITY FULL, so that updates and deletes "
          "carry the old row; run ALTER TABLE {} REPLICA IDENTITY FULL",
          label_, qualified, qualified);
    }
    for (const std::string& k : table_pk) {
      auto it = std::find_if(table_columns.begin(), table_columns.end(),
                             [&](const TableColumn& c) { return c.name == k; });
      pk_numeric_.push_back(IsIntegerOid(it->type_oid));
      pk_columns_.push_back(*spec_.schema.Find(k));
    }
    return Status::Ok();
  }

  // The cursor's ORDER BY (and the row comparison of a resumed snapshot).
  std::string PkOrderExpr() const {
    std::vector<std::string> parts;
    for (size_t i = 0; i < pk_columns_.size(); ++i) {
      std::string col = conn_->QuoteIdent(spec_.schema.field(pk_columns_[i]).name);
      parts.push_back(pk_numeric_[i] ? col : fmt::format("({}::text COLLATE \"C\")", col));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  Status EnsurePublication() {
    SLUICE_ASSIGN_OR_RETURN(
        PgResultPtr r,
        conn_->Exec(fmt::format("SELECT puballtables FROM pg_publication WHERE pubname = {}",
                                conn_->QuoteLiteral(options_.publication))));
    if (PQntuples(r.get()) == 0) {
      if (!options_.create_publication) {
        return Status::User(
            "{}: publication '{}' does not exist; create it (CREATE PUBLICATION {} FOR TABLE "
            "{}) or set publication.create.enable = 'true'",
            label_, options_.publication, conn_->QuoteIdent(options_.publication), qualified_);
      }
      return conn_
          ->Exec(fmt::format("CREATE PUBLICATION {} FOR TABLE {}",
                             conn_->QuoteIdent(options_.publication), qualified_),
                 PGRES_COMMAND_OK)
          .status();
    }
    SLUICE_ASSIGN_OR_RETURN(
        PgResultPtr t,
        conn_->Exec(fmt::format("SELECT 1 FROM pg_publication_tables WHERE pubname = {} AND "
                                "schemaname = {} AND tablename = {}",
                                conn_->QuoteLiteral(options_.publication),
                                conn_->QuoteLiteral(options_.schema),
                                conn_->QuoteLiteral(options_.table))));
    if (PQntuples(t.get()) == 0) {
      return Status::User(
          "{}: publication '{}' does not publish table {}; add it (ALTER "
          "PUBLICATION {} ADD TABLE {}) or name another in publication.name",
          label_, options_.publication, qualified_, conn_->QuoteIdent(options_.publication),
          qualified_);
    }
    return Status::Ok();
  }

  // Creates a slot (temporary or not) with an exported snapshot (when `export_snapshot`) on
  // `client`; returns its consistent point and the snapshot's name.
  Result<std::pair<Lsn, std::string>> CreateSlot(PgClient& client, const std::string& name,
                                                 bool temporary, bool export_snapshot) {
    std::string sql = fmt::format("CREATE_REPLICATION_SLOT {} {}LOGICAL pgoutput {}",
                                  client.QuoteIdent(name), temporary ? "TEMPORARY " : "",
                                  export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
    SLUICE_ASSIGN_OR_RETURN(PgResultPtr r, client.Exec(sql));
    SLUICE_ASSIGN_OR_RETURN(Lsn lsn, Lsn::Parse(PQgetvalue(r.get(), 0, 1)));
    std::string snapshot = PQgetisnull(r.get(), 0, 2) ? "" : PQgetvalue(r.get(), 0, 2);
    return std::make_pair(lsn, snapshot);
  }

  // Writes the marker that ends a bounded read; returns its LSN.
  Result<Lsn> WriteBound() {
    SLUICE_ASSIGN_OR_RETURN(PgResultPtr r,
                            conn_->Exec(fmt::format("SELECT pg_logical_emit_message(false, {}, {})",
                                                    conn_->QuoteLiteral(kBoundPrefix),
                                                    conn_->QuoteLiteral(options_.slot))));
    return Lsn::Parse(PQgetvalue(r.get(), 0, 0));
  }

  // Opens the snapshot's cursor (after `last_pk` when resuming) in snapshot `snapshot`.
  Status OpenCursor(const std::string& snapshot, const std::vector<std::string>& last_pk) {
    SLUICE_RETURN_NOT_OK(
        conn_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", PGRES_COMMAND_OK).status());
    SLUICE_RETURN_NOT_OK(
        conn_
            ->Exec(fmt::format("SET TRANSACTION SNAPSHOT {}", conn_->QuoteLiteral(snapshot)),
                   PGRES_COMMAND_OK)
            .status());
    std::vector<std::string> cols;
    for (const types::Field& f : spec_.schema.fields()) cols.push_back(conn_->QuoteIdent(f.name));
    std::string where;
    if (!last_pk.empty()) {
      std::vector<std::string> values;
      for (size_t i = 0; i < last_pk.size(); ++i) {
        values.push_back(pk_numeric_[i] ? conn_->QuoteLiteral(last_pk[i]) + "::bigint"
                                        : fmt::format("({}::text COLLATE \"C\")",
                                                      conn_->QuoteLiteral(last_pk[i])));
      }
      where = fmt::format(" WHERE ROW({}) > ROW({})", PkOrderExpr(), fmt::join(values, ", "));
    }
    return conn_
        ->Exec(fmt::format("DECLARE sluice_snapshot NO SCROLL CURSOR FOR SELECT {} FROM {}{} "
                           "ORDER BY {}",
                           fmt::join(cols, ", "), qualified_, where, PkOrderExpr()),
               PGRES_COMMAND_OK)
        .status();
  }

  Status FreshStart() {
    SLUICE_RETURN_NOT_OK(EnsurePublication());
    // A fresh start (no checkpoint) is a new read of the table: a slot left by an earlier run
    // is replaced, unless a running pipeline uses it.
    SLUICE_ASSIGN_OR_RETURN(
        PgResultPtr slots,
        conn_->Exec(fmt::format("SELECT active, plugin FROM pg_replication_slots WHERE "
                                "slot_name = {}",
                                conn_->QuoteLiteral(options_.slot))));
    if (PQntuples(slots.get()) > 0) {
      SLUICE_RETURN_NOT_OK(WaitSlotInactive());
      SLUICE_RETURN_NOT_OK(conn_
                               ->Exec(fmt::format("SELECT pg_drop_replication_slot({})",
                                                  conn_->QuoteLiteral(options_.slot)))
                               .status());
    }
    SLUICE_ASSIGN_OR_RETURN(repl_, PgClient::Connect(options_, true, label_));
    const bool snapshot = options_.startup == StartupMode::kInitial;
    SLUICE_ASSIGN_OR_RETURN(auto created, CreateSlot(*repl_, options_.slot, false, snapshot));
    pos_.done = created.first;
    if (options_.bounded) {
      SLUICE_ASSIGN_OR_RETURN(pos_.bound, WriteBound());
    }
    if (!snapshot) {
      pos_.phase = Phase::kStream;
      return Status::Ok();
    }
    pos_.snapshot_time_us = Now().value;
    SLUICE_RETURN_NOT_OK(OpenCursor(created.second, {}));
    pos_.phase = Phase::kSnapshot;
    return Status::Ok();
  }

  // A slot stays active until its walsender notices that its reader (this pipeline's previous
  // run, killed) is gone: wait for that, a bounded time.
  Status WaitSlotInactive() {
    const int64_t deadline = Now().value + kSlotWaitMicros;
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(
          PgResultPtr r,
          conn_->Exec(fmt::format("SELECT active FROM pg_replication_slots WHERE slot_name = {}",
                                  conn_->QuoteLiteral(options_.slot))));
      if (PQntuples(r.get()) == 0 || std::string(PQgetvalue(r.get(), 0, 0)) != "t") {
        return Status::Ok();
      }
      if (Now().value >= deadline) {
        return Status::User(
            "{}: replication slot '{}' is in use by another reader (for {} s); "
            "give this table another slot.name",
            label_, options_.slot, kSlotWaitMicros / 1000000);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  Status Resume() {
    if (pos_.phase == Phase::kDone) return Status::Ok();
    SLUICE_RETURN_NOT_OK(WaitSlotInactive());
    SLUICE_ASSIGN_OR_RETURN(
        PgResultPtr slots,
        conn_->Exec(fmt::format("SELECT active, confirmed_flush_lsn FROM pg_replication_slots "
                                "WHERE slot_name = {}",
                                conn_->QuoteLiteral(options_.slot))));
    if (PQntuples(slots.get()) == 0) {
      return Status::User(
          "{}: replication slot '{}' no longer exists, so the changes after the checkpoint are "
          "lost to this pipeline; start it without its state to read a new snapshot",
          label_, options_.slot);
    }
    if (!PQgetisnull(slots.get(), 0, 1)) {
      SLUICE_ASSIGN_OR_RETURN(Lsn confirmed, Lsn::Parse(PQgetvalue(slots.get(), 0, 1)));
      if (confirmed > pos_.done) {
        return Status::User(
            "{}: replication slot '{}' was confirmed up to {}, past this checkpoint's position "
            "{} (restored from an older checkpoint?); its changes are gone",
            label_, options_.slot, confirmed.ToString(), pos_.done.ToString());
      }
    }
    confirmed_ = pos_.done;
    if (pos_.phase != Phase::kSnapshot) return Status::Ok();
    // The exported snapshot died with the previous run: read the remaining keys in a new one,
    // and filter the changes the new one already holds.
    SLUICE_ASSIGN_OR_RETURN(snapshot_repl_, PgClient::Connect(options_, true, label_));
    std::string temp = options_.slot.substr(0, 50) + "_resume";
    SLUICE_ASSIGN_OR_RETURN(auto created, CreateSlot(*snapshot_repl_, temp, true, true));
    SLUICE_RETURN_NOT_OK(OpenCursor(created.second, pos_.snapshot_last_pk));
    pos_.filter_lsn = created.first;
    pos_.filter_pk = pos_.snapshot_last_pk;
    return Status::Ok();
  }

  Result<SourcePoll> PollSnapshot(runtime::Collector& out) {
    if (!fetch_sent_) {
      std::string sql = fmt::format("FETCH {} FROM sluice_snapshot", spec_.batch_rows);
      if (!PQsendQuery(conn_->get(), sql.c_str())) {
        return conn_->Error("reading the table's snapshot");
      }
      fetch_sent_ = true;
    }
    if (!PQconsumeInput(conn_->get())) return conn_->Error("reading the table's snapshot");
    if (PQisBusy(conn_->get())) {
      return SourcePoll::WaitUntil(ProcessingTime{Now().value + 200});
    }
    PgResultPtr r(PQgetResult(conn_->get()));
    // Drain to the end of the command (a null result).
    while (PGresult* extra = PQgetResult(conn_->get())) PQclear(extra);
    fetch_sent_ = false;
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return conn_->Error("reading the table's snapshot", r.get());
    }
    const int n = PQntuples(r.get());
    const int ncols = static_cast<int>(spec_.schema.size());
    for (int i = 0; i < n; ++i) {
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(r.get(), i, c)) {
          builders_[static_cast<size_t>(c)].AppendNull();
        } else {
          builders_[static_cast<size_t>(c)].AppendString(std::string_view(
              PQgetvalue(r.get(), i, c), static_cast<size_t>(PQgetlength(r.get(), i, c))));
        }
      }
      kinds_.push_back(static_cast<int8_t>(batch::ChangeKind::kInsert));
      event_times_.push_back(pos_.snapshot_time_us);
    }
    if (n > 0) {
      pos_.snapshot_last_pk.clear();
      for (int k : pk_columns_) pos_.snapshot_last_pk.push_back(PQgetvalue(r.get(), n - 1, k));
    }
    SLUICE_RETURN_NOT_OK(EmitPending(out));
    if (n > 0) return SourcePoll::More();
    // The whole table was read: close the snapshot, stream the slot.
    SLUICE_RETURN_NOT_OK(conn_->Exec("COMMIT", PGRES_COMMAND_OK).status());
    snapshot_repl_.reset();  // drops the temporary slot of a resumed snapshot
    pos_.phase = Phase::kStream;
    pos_.snapshot_last_pk.clear();
    return SourcePoll::More();
  }

  Status StartStreaming() {
    if (repl_ == nullptr) {
      SLUICE_ASSIGN_OR_RETURN(repl_, PgClient::Connect(options_, true, label_));
    }
    std::string sql = fmt::format(
        "START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names {}, "
        "messages 'true')",
        repl_->QuoteIdent(options_.slot), pos_.done.ToString(),
        repl_->QuoteLiteral(repl_->QuoteIdent(options_.publication)));
    SLUICE_RETURN_NOT_OK(repl_->Exec(sql, PGRES_COPY_BOTH).status());
    if (PQsetnonblocking(repl_->get(), 1) != 0) return repl_->Error("starting replication");
    streaming_ = true;
    received_ = pos_.done;
    return Status::Ok();
  }

  Status SendFeedback(bool reply_requested) {
    // Without checkpoints nothing will resume at a position: the slot may discard all it sent.
    Lsn flushed = (ctx_ != nullptr && ctx_->checkpointing) ? confirmed_ : pos_.done;
    std::string msg =
        StandbyStatusUpdate(received_, flushed, flushed, WallClockMicros(), reply_requested);
    if (PQputCopyData(repl_->get(), msg.data(), static_cast<int>(msg.size())) != 1 ||
        PQflush(repl_->get()) < 0) {
      return repl_->Error("reporting the replication position");
    }
    next_feedback_ = Now().value + kFeedbackMicros;
    return Status::Ok();
  }

  static int64_t WallClockMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // The stream broke (the server restarted, a network failure): reconnect and stream again
  // from the last complete transaction, skipping the changes of the partial one already
  // emitted, as a restore does. Retries for kReconnectMicros, then fails.
  Result<SourcePoll> Reconnect(const Status& cause) {
    const int64_t now = Now().value;
    if (reconnect_deadline_ == 0) {
      reconnect_deadline_ = now + kReconnectMicros;
      EmitNothingPending();
      streaming_ = false;
      repl_.reset();
      conn_.reset();  // broken too when the server restarted; reopened for Close's cleanup
      in_txn_ = false;
    }
    if (now >= reconnect_deadline_) {
      return cause.WithContext(
          fmt::format("gave up reconnecting after {} s", kReconnectMicros / 1000000));
    }
    if (conn_ == nullptr) {
      auto c = PgClient::Connect(options_, false, label_);
      if (!c.ok()) return SourcePoll::WaitUntil(ProcessingTime{now + 500000});
      conn_ = std::move(*c);
    }
    auto r = PgClient::Connect(options_, true, label_);
    if (!r.ok()) return SourcePoll::WaitUntil(ProcessingTime{now + 500000});
    repl_ = std::move(*r);
    Status started = StartStreaming();
    if (!started.ok()) {
      repl_.reset();
      streaming_ = false;
      return SourcePoll::WaitUntil(ProcessingTime{now + 500000});
    }
    reconnect_deadline_ = 0;
    return SourcePoll::More();
  }

  // Rows of a transaction cut by a lost connection were emitted already; the replay skips them
  // (pos_.partial_*), so nothing is pending here.
  void EmitNothingPending() {
    pos_.partial_commit = in_txn_ ? txn_commit_ : Lsn{};
    if (!in_txn_) pos_.partial_changes = 0;
  }

  bool Broken() const { return repl_ != nullptr && PQstatus(repl_->get()) == CONNECTION_BAD; }

  Result<SourcePoll> PollStream(runtime::Collector& out) {
    if (reconnect_deadline_ != 0 || !streaming_) {
      if (reconnect_deadline_ != 0)
        return Reconnect(
            Status::Io("{}: lost the replication "
                       "connection",
                       label_));
      Status st = StartStreaming();
      if (!st.ok()) return st;
    }
    auto polled = PollStreamOnce(out);
    if (!polled.ok() && Broken()) {
      SLUICE_RETURN_NOT_OK(EmitPending(out));
      return Reconnect(polled.status());
    }
    return polled;
  }

  Result<SourcePoll> PollStreamOnce(runtime::Collector& out) {
    if (!PQconsumeInput(repl_->get())) return repl_->Error("reading the replication stream");
    int64_t frames = 0;
    while (static_cast<int64_t>(kinds_.size()) < spec_.batch_rows && pos_.phase == Phase::kStream) {
      char* buf = nullptr;
      int len = PQgetCopyData(repl_->get(), &buf, 1);
      if (len == 0) break;
      if (len == -1) {
        PgResultPtr r(PQgetResult(repl_->get()));
        return repl_->Error("streaming the replication slot (the server ended the stream)",
                            r.get());
      }
      if (len < 0) return repl_->Error("reading the replication stream");
      ++frames;
      Status st = HandleFrame(std::string_view(buf, static_cast<size_t>(len)));
      PQfreemem(buf);
      SLUICE_RETURN_NOT_OK(st);
    }
    SLUICE_RETURN_NOT_OK(EmitPending(out));
    if (Now().value >= next_feedback_) SLUICE_RETURN_NOT_OK(SendFeedback(false));
    if (pos_.phase == Phase::kDone) return SourcePoll::Finished();
    if (frames == 0) return SourcePoll::WaitUntil(ProcessingTime{Now().value + kIdlePollMicros});
    return SourcePoll::More();
  }

  Status HandleFrame(std::string_view data) {
    ReplicationFrame frame;
    SLUICE_RETURN_NOT_OK(ParseReplicationFrame(data, &frame));
    if (frame.kind == ReplicationFrame::Kind::kKeepalive) {
      if (frame.reply_requested) return SendFeedback(false);
      return Status::Ok();
    }
    if (frame.kind != ReplicationFrame::Kind::kXLogData) return Status::Ok();
    if (frame.wal_start > received_) received_ = frame.wal_start;
    Status st = ParsePgOutput(frame.payload, &msg_);
    if (!st.ok()) return st.WithContext(label_);
    switch (msg_.type) {
      case MessageType::kBegin:
        in_txn_ = true;
        txn_commit_ = msg_.lsn;
        txn_time_us_ = msg_.commit_time_us;
        // Committed before the position: emitted before the checkpoint.
        skip_txn_ = txn_commit_ < pos_.done;
        skip_changes_ =
            (!skip_txn_ && pos_.partial_commit == txn_commit_ && pos_.partial_commit.value != 0)
                ? pos_.partial_changes
                : 0;
        pos_.partial_commit = txn_commit_;
        pos_.partial_changes = 0;
        return Status::Ok();
      case MessageType::kCommit:
        in_txn_ = false;
        if (msg_.end_lsn > pos_.done) pos_.done = msg_.end_lsn;
        pos_.partial_commit = Lsn{};
        pos_.partial_changes = 0;
        if (pos_.filter_lsn.value != 0 && pos_.done >= pos_.filter_lsn) {
          pos_.filter_lsn = Lsn{};  // every change the resumed snapshot held is passed
          pos_.filter_pk.clear();
        }
        return Status::Ok();
      case MessageType::kRelation:
        return MapRelation();
      case MessageType::kInsert:
      case MessageType::kUpdate:
      case MessageType::kDelete:
        return HandleChange();
      case MessageType::kTruncate:
        if (std::find(msg_.truncated.begin(), msg_.truncated.end(), relation_oid_) !=
            msg_.truncated.end()) {
          return Status::User(
              "{}: PostgreSQL table {} was truncated; a changelog cannot express that. Start the "
              "pipeline without its state to read a new snapshot",
              label_, qualified_);
        }
        return Status::Ok();
      case MessageType::kMessage:
        if (!msg_.transactional && msg_.prefix == kBoundPrefix && pos_.bound.value != 0 &&
            msg_.lsn >= pos_.bound && !in_txn_) {
          pos_.phase = Phase::kDone;
        }
        return Status::Ok();
      case MessageType::kOther:
        return Status::Ok();
    }
    return Status::Ok();
  }

  Status MapRelation() {
    if (msg_.schema_name != options_.schema || msg_.table_name != options_.table) {
      return Status::Ok();  // another table of the publication
    }
    relation_oid_ = msg_.relation;
    column_index_.assign(spec_.schema.size(), -1);
    for (size_t j = 0; j < spec_.schema.size(); ++j) {
      for (size_t i = 0; i < msg_.columns.size(); ++i) {
        if (msg_.columns[i].name == spec_.schema.field(j).name) {
          column_index_[j] = static_cast<int>(i);
        }
      }
      if (column_index_[j] < 0) {
        return Status::User(
            "{}: column '{}' is no longer in PostgreSQL table {} (altered while "
            "the pipeline ran)",
            label_, spec_.schema.field(j).name, qualified_);
      }
    }
    full_identity_ = msg_.replica_identity == 'f';
    return Status::Ok();
  }

  // True when the resumed snapshot already holds this row's state (see the top of the file).
  bool Filtered(const std::vector<TupleValue>& tuple) {
    if (pos_.filter_lsn.value == 0 || !(txn_commit_ < pos_.filter_lsn)) return false;
    key_.clear();
    for (int k : pk_columns_) {
      const TupleValue& v = tuple[static_cast<size_t>(column_index_[static_cast<size_t>(k)])];
      key_.push_back(v.text);
    }
    return ComparePk(key_, pos_.filter_pk, pk_numeric_) > 0;
  }

  Status HandleChange() {
    if (msg_.relation != relation_oid_) return Status::Ok();
    if (skip_txn_) return Status::Ok();
    ++pos_.partial_changes;
    if (skip_changes_ > 0) {
      --skip_changes_;
      return Status::Ok();
    }
    const bool needs_old = msg_.type != MessageType::kInsert;
    if (needs_old && (!msg_.has_old || msg_.old_is_key_only || !full_identity_)) {
      return Status::User(
          "{}: PostgreSQL sent an {} of table {} without its old row; the table needs REPLICA "
          "IDENTITY FULL (ALTER TABLE {} REPLICA IDENTITY FULL)",
          label_, msg_.type == MessageType::kUpdate ? "update" : "delete", qualified_, qualified_);
    }
    switch (msg_.type) {
      case MessageType::kInsert:
        if (!Filtered(msg_.new_tuple)) {
          SLUICE_RETURN_NOT_OK(AppendRow(msg_.new_tuple, nullptr, batch::ChangeKind::kInsert));
        }
        break;
      case MessageType::kUpdate: {
        bool old_in = !Filtered(msg_.old_tuple);
        bool new_in = !Filtered(msg_.new_tuple);
        if (old_in && new_in) {
          SLUICE_RETURN_NOT_OK(
              AppendRow(msg_.old_tuple, nullptr, batch::ChangeKind::kUpdateBefore));
          SLUICE_RETURN_NOT_OK(
              AppendRow(msg_.new_tuple, &msg_.old_tuple, batch::ChangeKind::kUpdateAfter));
        } else if (old_in) {
          SLUICE_RETURN_NOT_OK(AppendRow(msg_.old_tuple, nullptr, batch::ChangeKind::kDelete));
        } else if (new_in) {
          SLUICE_RETURN_NOT_OK(
              AppendRow(msg_.new_tuple, &msg_.old_tuple, batch::ChangeKind::kInsert));
        }
        break;
      }
      case MessageType::kDelete:
        if (!Filtered(msg_.old_tuple)) {
          SLUICE_RETURN_NOT_OK(AppendRow(msg_.old_tuple, nullptr, batch::ChangeKind::kDelete));
        }
        break;
      default:
        break;
    }
    return Status::Ok();
  }

  // One row from a tuple; a TOASTed value the change left alone comes from `old`.
  Status AppendRow(const std::vector<TupleValue>& tuple, const std::vector<TupleValue>* old,
                   batch::ChangeKind kind) {
    for (size_t j = 0; j < builders_.size(); ++j) {
      size_t i = static_cast<size_t>(column_index_[j]);
      if (i >= tuple.size()) {
        return Status::Io("{}: a change of table {} has {} columns, fewer than its relation's",
                          label_, qualified_, tuple.size());
      }
      const TupleValue* v = &tuple[i];
      if (v->kind == TupleValue::Kind::kUnchangedToast && old != nullptr && i < old->size()) {
        v = &(*old)[i];
      }
      switch (v->kind) {
        case TupleValue::Kind::kNull:
          builders_[j].AppendNull();
          break;
        case TupleValue::Kind::kText:
          builders_[j].AppendString(v->text);
          break;
        case TupleValue::Kind::kUnchangedToast:
          return Status::User(
              "{}: PostgreSQL did not send the unchanged TOASTed value of column "
              "'{}' (needs REPLICA IDENTITY FULL)",
              label_, spec_.schema.field(j).name);
      }
    }
    kinds_.push_back(static_cast<int8_t>(kind));
    event_times_.push_back(txn_time_us_);
    return Status::Ok();
  }

  Status EmitPending(runtime::Collector& out) {
    const int64_t n = static_cast<int64_t>(kinds_.size());
    if (n == 0) return Status::Ok();
    auto b = std::make_shared<batch::Batch>();
    b->schema = schema_;
    b->num_rows = n;
    for (size_t j = 0; j < builders_.size(); ++j) {
      batch::ColumnPtr col = builders_[j].Finish();
      const types::DataType& type = spec_.schema.field(j).type;
      if (col->type != type) {
        auto cast = expr::CastColumn(col, type);
        if (!cast.ok()) {
          return cast.status().WithContext(
              fmt::format("{}: column '{}'", label_, spec_.schema.field(j).name));
        }
        col = *cast;
      }
      b->columns.push_back(std::move(col));
    }
    auto kinds = batch::Column::MakeFixed(types::DataType(types::TypeId::kInt8), n);
    std::memcpy(kinds->mutable_raw<int8_t>(), kinds_.data(), static_cast<size_t>(n));
    b->change_kind = kinds;
    auto times = batch::Column::MakeFixed(types::Timestamp(), n);
    std::memcpy(times->mutable_raw<int64_t>(), event_times_.data(),
                static_cast<size_t>(n) * sizeof(int64_t));
    b->event_time = times;
    kinds_.clear();
    event_times_.clear();
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
    return out.Emit(b);
  }

  TableSpec spec_;
  PgOptions options_;
  std::string label_;
  std::string qualified_;  // "schema"."table", quoted
  types::SchemaPtr schema_;
  std::unique_ptr<PgClient> conn_;           // catalog, snapshot, bound marker
  std::unique_ptr<PgClient> repl_;           // the slot's replication stream
  std::unique_ptr<PgClient> snapshot_repl_;  // a resumed snapshot's temporary slot
  std::vector<int> pk_columns_;              // indexes into the schema, key order
  std::vector<bool> pk_numeric_;
  Position pos_;
  bool restored_ = false;
  bool started_ = false;
  bool fetch_sent_ = false;
  bool streaming_ = false;
  // Replication state.
  PgOutputMessage msg_;
  uint32_t relation_oid_ = 0;
  bool full_identity_ = false;
  std::vector<int> column_index_;  // declared column -> relation column
  bool in_txn_ = false;
  Lsn txn_commit_;
  int64_t txn_time_us_ = 0;
  bool skip_txn_ = false;
  int64_t skip_changes_ = 0;
  Lsn received_;
  Lsn confirmed_;
  int64_t next_feedback_ = 0;
  int64_t reconnect_deadline_ = 0;          // while reconnecting: when to give up
  std::map<int64_t, Lsn> pending_confirm_;  // checkpoint -> done LSN it covers
  std::vector<std::string_view> key_;
  // Pending rows.
  std::vector<batch::ColumnBuilder> builders_;
  std::vector<int8_t> kinds_;
  std::vector<int64_t> event_times_;
};

}  // namespace

bool PgCdcSupportsType(const types::DataType& type) {
  switch (type.id()) {
    case types::TypeId::kBool:
    case types::TypeId::kInt16:
    case types::TypeId::kInt32:
    case types::TypeId::kInt64:
    case types::TypeId::kFloat32:
    case types::TypeId::kFloat64:
    case types::TypeId::kDecimal:
    case types::TypeId::kUtf8:
    case types::TypeId::kJson:
    case types::TypeId::kDate:
    case types::TypeId::kTime:
    case types::TypeId::kTimestamp:
      return true;
    default:
      return false;
  }
}

std::unique_ptr<runtime::SourceOperator> MakePgCdcSource(const TableSpec& spec,
                                                         const PgOptions& options) {
  return std::make_unique<PgCdcSource>(spec, options);
}

}  // namespace sluice::connectors::postgres
