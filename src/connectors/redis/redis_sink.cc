// Redis sink: each row becomes one Redis command, written through hiredis with pipelining (a
// batch's commands are sent together, then their replies read: one round trip per batch).
//
//   target 'string': SET <prefix><key> <row> [EX ttl]     (a delete: DEL <prefix><key>)
//   target 'list':   RPUSH (append) or LPUSH (prepend) <prefix><key> <row>, then per key and
//                    batch LTRIM to target.max_length and EXPIRE ttl when set
//   target 'hash':   HSET <prefix><key> <field> <row>  (a delete: HDEL), EXPIRE per key and batch
//
// <key> is the key column's value as text (none: the prefix alone), <row> the row encoded with
// the table's format (json by default). Updating results go to string and hash targets: an
// insert or the new row of an update writes, a delete or the old row of an update removes.
//
// Delivery: at-least-once. Every batch is written (its replies read) before the next one is
// processed, so at a checkpoint barrier everything before it is in Redis; rows after the last
// checkpoint are written again after a restore, which string and hash targets absorb (the same
// value set again), while a list gets them twice.
//
// Threading: the sink's task thread; the connection is blocking with timeouts (connect.timeout,
// and 30 s per batch's replies).

#include "connectors/redis/redis_sink.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "batch/batch.h"
#include "common/duration.h"
#include "common/text.h"
#include "expr/cast.h"
#include "formats/format.h"

namespace sluice::connectors::redis {

namespace {

const std::string* Find(const TableSpec& spec, const std::string& key) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? nullptr : &it->second;
}

Result<int64_t> NonNegative(const TableSpec& spec, const std::string& key) {
  const std::string* v = Find(spec, key);
  std::string s(TrimAsciiSpace(*v));
  char* end = nullptr;
  long long n = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || n < 0) {
    return Status::User("invalid value '{}' for option '{}': use a whole number >= 0", *v, key);
  }
  return static_cast<int64_t>(n);
}

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisSink : public runtime::Operator {
 public:
  RedisSink(const TableSpec& spec, const RedisOptions& options)
      : spec_(spec), options_(options), label_(fmt::format("table '{}'", spec.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    formats::FormatOptions format = spec_.format;
    if (format.format.empty() || format.format == "debezium_json") format.format = "json";
    SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(format, spec_.schema));
    if (!options_.key_column.empty()) key_index_ = *spec_.schema.Find(options_.key_column);
    if (!options_.field_column.empty()) field_index_ = *spec_.schema.Find(options_.field_column);
    return Connect();
  }

  Status ProcessBatch(int input, const batch::BatchPtr& batch, runtime::Collector& out) override {
    if (batch->num_rows == 0) return Status::Ok();
    buffer_.clear();
    spans_.clear();
    SLUICE_RETURN_NOT_OK(encoder_->EncodeRecords(*batch, &buffer_, &spans_));
    SLUICE_ASSIGN_OR_RETURN(batch::ColumnPtr keys, TextColumn(*batch, key_index_));
    SLUICE_ASSIGN_OR_RETURN(batch::ColumnPtr fields, TextColumn(*batch, field_index_));
    const int8_t* kinds = batch->change_kind ? batch->change_kind->raw<int8_t>() : nullptr;
    touched_.clear();
    int64_t commands = 0;
    for (int64_t i = 0; i < batch->num_rows; ++i) {
      key_ = options_.key_prefix;
      if (keys) {
        if (keys->IsNull(i)) {
          return Status::User("{}: row {} has a NULL key column '{}'; Redis keys cannot be NULL",
                              label_, i, options_.key_column);
        }
        key_ += keys->GetString(i);
      }
      const bool remove =
          kinds != nullptr && (kinds[i] == static_cast<int8_t>(batch::ChangeKind::kDelete) ||
                               kinds[i] == static_cast<int8_t>(batch::ChangeKind::kUpdateBefore));
      std::string_view value(
          buffer_.data() + spans_[static_cast<size_t>(i)].first,
          spans_[static_cast<size_t>(i)].second - spans_[static_cast<size_t>(i)].first);
      std::string_view field;
      if (fields) {
        if (fields->IsNull(i)) {
          return Status::User("{}: row {} has a NULL field column '{}'", label_, i,
                              options_.field_column);
        }
        field = fields->GetString(i);
      }
      switch (options_.target) {
        case Target::kString:
          if (remove) {
            Append({"DEL", key_});
          } else if (options_.ttl_seconds > 0) {
            Append({"SET", key_, value, "EX", ttl_text_});
          } else {
            Append({"SET", key_, value});
          }
          break;
        case Target::kList:
          Append({options_.operation == ListOperation::kAppend ? "RPUSH" : "LPUSH", key_, value});
          touched_.insert(key_);
          break;
        case Target::kHash:
          if (remove) {
            Append({"HDEL", key_, field});
          } else {
            Append({"HSET", key_, field, value});
            touched_.insert(key_);
          }
          break;
      }
      ++commands;
    }
    for (const std::string& key : touched_) {
      if (options_.target == Target::kList && options_.max_length > 0) {
        if (options_.operation == ListOperation::kAppend) {
          Append({"LTRIM", key, max_neg_text_, "-1"});
        } else {
          Append({"LTRIM", key, "0", max_last_text_});
        }
        ++commands;
      }
      if (options_.ttl_seconds > 0) {
        Append({"EXPIRE", key, ttl_text_});
        ++commands;
      }
    }
    SLUICE_RETURN_NOT_OK(ReadReplies(commands));
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    return Status::Ok();
  }

  Status Close() override {
    context_.reset();
    return Status::Ok();
  }

 private:
  Status Connect() {
    timeval tv{options_.connect_timeout_ms / 1000, (options_.connect_timeout_ms % 1000) * 1000};
    context_.reset(redisConnectWithTimeout(options_.host.c_str(), options_.port, tv));
    if (context_ == nullptr || context_->err) {
      return Status::Io("{}: cannot connect to Redis at {}:{} (connect.timeout {} ms): {}", label_,
                        options_.host, options_.port, options_.connect_timeout_ms,
                        context_ ? context_->errstr : "out of memory");
    }
    timeval cmd{options_.command_timeout_ms / 1000, 0};
    redisSetTimeout(context_.get(), cmd);
    if (!options_.password.empty()) {
      if (options_.username.empty()) {
        Append({"AUTH", options_.password});
      } else {
        Append({"AUTH", options_.username, options_.password});
      }
      void* raw = nullptr;
      if (redisGetReply(context_.get(), &raw) != REDIS_OK) {
        return Status::Io("{}: cannot connect to Redis at {}:{}: {}", label_, options_.host,
                          options_.port, context_->errstr);
      }
      ReplyPtr reply(static_cast<redisReply*>(raw));
      // Say only that authentication failed: the reply is not shown.
      if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) {
        return Status::User("{}: Redis at {}:{} refused the credentials of user '{}'", label_,
                            options_.host, options_.port,
                            options_.username.empty() ? "default" : options_.username);
      }
    }
    if (options_.database != 0) {
      Append({"SELECT", std::to_string(options_.database)});
      SLUICE_RETURN_NOT_OK(ReadReplies(1));
    }
    ttl_text_ = std::to_string(options_.ttl_seconds);
    max_neg_text_ = std::to_string(-options_.max_length);
    max_last_text_ = std::to_string(options_.max_length - 1);
    return Status::Ok();
  }

  void Append(std::initializer_list<std::string_view> args) {
    argv_.clear();
    argvlen_.clear();
    for (std::string_view a : args) {
      argv_.push_back(a.data());
      argvlen_.push_back(a.size());
    }
    redisAppendCommandArgv(context_.get(), static_cast<int>(argv_.size()), argv_.data(),
                           argvlen_.data());
  }

  Status ReadReplies(int64_t n) {
    Status first;
    for (int64_t i = 0; i < n; ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_.get(), &raw) != REDIS_OK) {
        return Status::Io("{}: writing to Redis at {}:{} failed: {}", label_, options_.host,
                          options_.port, context_->errstr);
      }
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (reply && reply->type == REDIS_REPLY_ERROR && first.ok()) {
        first = Status::Io("{}: Redis at {}:{} refused a command: {}", label_, options_.host,
                           options_.port, std::string(reply->str, reply->len));
      }
    }
    return first;
  }

  // The column as text (keys and fields), cast once per batch; null when there is no column.
  Result<batch::ColumnPtr> TextColumn(const batch::Batch& b, int index) {
    if (index < 0) return batch::ColumnPtr();
    const batch::ColumnPtr& c = b.columns[static_cast<size_t>(index)];
    if (c->type.id() == types::TypeId::kUtf8) return c;
    return expr::CastColumn(c, types::Utf8());
  }

  TableSpec spec_;
  RedisOptions options_;
  std::string label_;
  ContextPtr context_;
  std::unique_ptr<formats::Encoder> encoder_;
  int key_index_ = -1;
  int field_index_ = -1;
  std::string buffer_;
  std::vector<std::pair<size_t, size_t>> spans_;
  std::string key_;
  std::set<std::string> touched_;
  std::vector<const char*> argv_;
  std::vector<size_t> argvlen_;
  std::string ttl_text_, max_neg_text_, max_last_text_;
};

}  // namespace

const std::vector<OptionSpec>& RedisOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"address", true, "redis://[user[:password]@]host[:port][/database] (port 6379, db 0)",
       false},
      {"connection_type", false, "'single' (default; 'cluster' is not supported yet)", false},
      {"username", false, "ACL user (or in the address)", false},
      {"password", false, "password (never shown in plans, logs or errors)", true},
      {"target", false, "'string' (default: SET), 'list' (RPUSH/LPUSH) or 'hash' (HSET)", false},
      {"target.key_prefix", false, "prefix of every key (the whole key without a key column)",
       false},
      {"target.key_column", false, "column whose value, after the prefix, is the key", false},
      {"target.field_column", false, "hash target: column whose value is the field", false},
      {"target.ttl_secs", false, "keys expire this many seconds after their last write", false},
      {"target.max_length", false, "list target: keep at most this many elements", false},
      {"target.operation", false, "list target: 'append' (default, RPUSH) or 'prepend' (LPUSH)",
       false},
      {"connect.timeout", false, "how long connecting may take (default 5s)", false},
      {"lookup.cache.ttl", false,
       "lookup tables: cache each key's value this long (default: no cache)", false},
      {"lookup.cache.max_entries", false,
       "lookup tables: at most this many cached keys, oldest evicted first (default 100000)",
       false},
  };
  return specs;
}

std::vector<std::string> RedisOptionKeys() {
  std::vector<std::string> keys;
  for (const OptionSpec& o : RedisOptionSpecs()) keys.push_back(o.name);
  return keys;
}

Result<RedisOptions> ParseRedisOptions(const TableSpec& spec) {
  RedisOptions o;
  const std::string* address = Find(spec, "address");
  if (address == nullptr) {
    return Status::User("missing option 'address' for connector 'redis' (redis://host:port)");
  }
  std::string a(TrimAsciiSpace(*address));
  auto bad_address = [&] {
    return Status::User(
        "invalid value for option 'address': use redis://[user[:password]@]host[:port][/db]");
  };
  if (a.rfind("redis://", 0) != 0) return bad_address();
  a = a.substr(8);
  if (size_t at = a.rfind('@'); at != std::string::npos) {
    std::string creds = a.substr(0, at);
    a = a.substr(at + 1);
    size_t colon = creds.find(':');
    if (colon == std::string::npos) {
      o.username = creds;
    } else {
      o.username = creds.substr(0, colon);
      o.password = creds.substr(colon + 1);
    }
  }
  if (size_t slash = a.find('/'); slash != std::string::npos) {
    std::string db = a.substr(slash + 1);
    a = a.substr(0, slash);
    if (!db.empty()) {
      char* end = nullptr;
      long n = std::strtol(db.c_str(), &end, 10);
      if (*end != '\0' || n < 0 || n > 15) return bad_address();
      o.database = static_cast<int>(n);
    }
  }
  if (size_t colon = a.rfind(':'); colon != std::string::npos) {
    std::string port = a.substr(colon + 1);
    a = a.substr(0, colon);
    char* end = nullptr;
    long n = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || n < 1 || n > 65535) return bad_address();
    o.port = static_cast<int>(n);
  }
  if (a.empty()) return bad_address();
  o.host = a;
  if (const std::string* v = Find(spec, "username")) o.username = *v;
  if (const std::string* v = Find(spec, "password")) o.password = *v;
  if (const std::string* v = Find(spec, "connection_type")) {
    std::string t = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (t == "cluster") {
      return Status::NotSupported("connection_type 'cluster' is not supported yet; use 'single'");
    }
    if (t != "single") {
      return Status::User("invalid value '{}' for option 'connection_type': use 'single'", *v);
    }
  }
  if (const std::string* v = Find(spec, "target")) {
    std::string t = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (t == "string") {
      o.target = Target::kString;
    } else if (t == "list") {
      o.target = Target::kList;
    } else if (t == "hash") {
      o.target = Target::kHash;
    } else {
      return Status::User("invalid value '{}' for option 'target': use 'string', 'list' or 'hash'",
                          *v);
    }
  }
  if (const std::string* v = Find(spec, "target.key_prefix")) o.key_prefix = *v;
  auto column = [&](const char* key, std::string* out) -> Status {
    const std::string* v = Find(spec, key);
    if (v == nullptr) return Status::Ok();
    *out = std::string(TrimAsciiSpace(*v));
    if (spec.schema.size() > 0 && !spec.schema.Find(*out)) {
      std::vector<std::string> names;
      for (const auto& f : spec.schema.fields()) names.push_back(f.name);
      std::string hint = ClosestMatch(*out, names);
      return Status::User("option '{}' names column '{}', which table '{}' does not have{}", key,
                          *out, spec.table_name,
                          hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint));
    }
    return Status::Ok();
  };
  if (const std::string* v = Find(spec, "lookup.cache.ttl")) {
    SLUICE_ASSIGN_OR_RETURN(o.cache_ttl_micros, ParseDuration(*v, "option 'lookup.cache.ttl'"));
  }
  if (Find(spec, "lookup.cache.max_entries")) {
    SLUICE_ASSIGN_OR_RETURN(o.cache_max_entries, NonNegative(spec, "lookup.cache.max_entries"));
  }
  if (const std::string* v = Find(spec, "connect.timeout")) {
    SLUICE_ASSIGN_OR_RETURN(int64_t micros, ParseDuration(*v, "option 'connect.timeout'"));
    if (micros < 1000) return Status::User("option 'connect.timeout' is below 1 ms");
    o.connect_timeout_ms = static_cast<int>(std::min<int64_t>(micros / 1000, 3600000));
  }
  if (spec.type == TableType::kSource) {
    for (const auto& [key, value] : spec.options) {
      if (key.rfind("target", 0) == 0) {
        return Status::User("option '{}' applies to redis sinks; table '{}' is a lookup table", key,
                            spec.table_name);
      }
    }
    return o;
  }
  for (const char* key : {"lookup.cache.ttl", "lookup.cache.max_entries"}) {
    if (Find(spec, key)) {
      return Status::User("option '{}' applies to redis lookup tables, not sinks", key);
    }
  }
  SLUICE_RETURN_NOT_OK(column("target.key_column", &o.key_column));
  SLUICE_RETURN_NOT_OK(column("target.field_column", &o.field_column));
  if (o.target == Target::kHash && o.field_column.empty()) {
    return Status::User("a redis 'hash' target needs option 'target.field_column'");
  }
  if (o.target != Target::kHash && !o.field_column.empty()) {
    return Status::User("option 'target.field_column' applies to the 'hash' target only");
  }
  if (o.key_prefix.empty() && o.key_column.empty()) {
    return Status::User(
        "a redis sink needs 'target.key_prefix', 'target.key_column' or both to name its keys");
  }
  if (Find(spec, "target.ttl_secs")) {
    SLUICE_ASSIGN_OR_RETURN(o.ttl_seconds, NonNegative(spec, "target.ttl_secs"));
  }
  if (Find(spec, "target.max_length")) {
    if (o.target != Target::kList) {
      return Status::User("option 'target.max_length' applies to the 'list' target only");
    }
    SLUICE_ASSIGN_OR_RETURN(o.max_length, NonNegative(spec, "target.max_length"));
  }
  if (const std::string* v = Find(spec, "target.operation")) {
    if (o.target != Target::kList) {
      return Status::User("option 'target.operation' applies to the 'list' target only");
    }
    std::string op = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (op == "append") {
      o.operation = ListOperation::kAppend;
    } else if (op == "prepend") {
      o.operation = ListOperation::kPrepend;
    } else {
      return Status::User(
          "invalid value '{}' for option 'target.operation': use 'append' or "
          "'prepend'",
          *v);
    }
  }
  return o;
}

std::unique_ptr<runtime::Operator> MakeRedisSink(const TableSpec& spec,
                                                 const RedisOptions& options) {
  return std::make_unique<RedisSink>(spec, options);
}

}  // namespace sluice::connectors::redis
