// Redis lookup join: `JOIN side FOR SYSTEM_TIME AS OF probe.ts AS s ON s.key = <probe expr>`
// where `side` is a redis table. Each probe batch's keys are looked up in a bounded cache; the
// keys it misses are fetched with MGET (up to kMgetChunk keys per command, all chunks of a
// batch pipelined: one round trip per batch), and the values decoded with the table's format a
// batch at a time. INNER drops probe rows whose key is absent (or NULL); LEFT keeps them with
// NULL side columns. Output rows keep the probe row's event time; the output is append-only.
//
// Cache (lookup.cache.ttl > 0): key -> value (or "absent"), at most lookup.cache.max_entries
// entries, each valid for the TTL after it was fetched; the oldest entries are evicted first,
// after the batch that fetched the new ones is joined.
// Not checkpointed: a restore starts with an empty cache (lookups are reads, so nothing is lost).
//
// Threading: the operator's task thread; one blocking hiredis connection per subtask, with
// connect.timeout and a 30 s timeout per batch of replies.

#include <hiredis/hiredis.h>

#include <deque>
#include <unordered_map>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "connectors/redis/redis_sink.h"
#include "expr/cast.h"
#include "formats/format.h"

namespace sluice::connectors::redis {

namespace {

constexpr size_t kMgetChunk = 512;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

class RedisLookupJoin : public runtime::Operator {
 public:
  RedisLookupJoin(const TableSpec& side, const RedisOptions& options, const exec::JoinSpec& join,
                  std::vector<int> side_columns, int key_column)
      : side_(side),
        options_(options),
        join_(join),
        side_columns_(std::move(side_columns)),
        key_column_(key_column),
        label_(fmt::format("table '{}'", side.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    std::vector<types::Field> value_fields;
    for (size_t i = 0; i < side_.schema.size(); ++i) {
      if (static_cast<int>(i) == key_column_) {
        value_index_.push_back(-1);
      } else {
        value_index_.push_back(static_cast<int>(value_fields.size()));
        value_fields.push_back(side_.schema.field(i));
      }
    }
    value_schema_ = types::Schema(value_fields);
    formats::FormatOptions format = side_.format;
    if (format.format.empty()) format.format = "json";
    SLUICE_ASSIGN_OR_RETURN(decoder_, formats::MakeDecoder(format, value_schema_, label_));
    timeval tv{options_.connect_timeout_ms / 1000, (options_.connect_timeout_ms % 1000) * 1000};
    context_.reset(redisConnectWithTimeout(options_.host.c_str(), options_.port, tv));
    if (context_ == nullptr || context_->err) {
      return Status::Io("{}: cannot connect to Redis at {}:{} (connect.timeout {} ms): {}", label_,
                        options_.host, options_.port, options_.connect_timeout_ms,
                        context_ ? context_->errstr : "out of memory");
    }
    redisSetTimeout(context_.get(), timeval{options_.command_timeout_ms / 1000, 0});
    if (!options_.password.empty()) {
      SLUICE_RETURN_NOT_OK(
          Command(options_.username.empty()
                      ? std::vector<std::string>{"AUTH", options_.password}
                      : std::vector<std::string>{"AUTH", options_.username, options_.password},
                  "authenticating (credentials refused)"));
    }
    if (options_.database != 0) {
      SLUICE_RETURN_NOT_OK(Command({"SELECT", std::to_string(options_.database)}, "SELECT"));
    }
    return Status::Ok();
  }

  Status ProcessBatch(int input, const batch::BatchPtr& probe, runtime::Collector& out) override {
    const int64_t n = probe->num_rows;
    if (n == 0) return Status::Ok();
    batch::ColumnPtr keys = probe->columns[static_cast<size_t>(join_.left_keys[0])];
    if (keys->type.id() != types::TypeId::kUtf8) {
      SLUICE_ASSIGN_OR_RETURN(keys, expr::CastColumn(keys, types::Utf8()));
    }
    const int64_t now = Now().value;
    // 1. Which keys must be fetched (not cached, or expired), each once per batch.
    misses_.clear();
    miss_index_.clear();
    for (int64_t i = 0; i < n; ++i) {
      if (keys->IsNull(i)) continue;
      std::string_view k = keys->GetString(i);
      if (ttl_micros() > 0) {
        auto it = cache_.find(std::string(k));
        if (it != cache_.end() && it->second.fetched + ttl_micros() > now) continue;
      }
      if (miss_index_.emplace(std::string(k), misses_.size()).second) misses_.emplace_back(k);
    }
    SLUICE_RETURN_NOT_OK(Fetch(now));
    // 2. The side values of each output row, decoded together.
    selected_.clear();
    key_builder_ = std::make_unique<batch::ColumnBuilder>(types::Utf8());
    for (int64_t i = 0; i < n; ++i) {
      const Entry* e = nullptr;
      if (!keys->IsNull(i)) e = Find(keys->GetString(i));
      const bool found = e != nullptr && e->found;
      if (!found && join_.type != exec::JoinType::kLeft) continue;
      selected_.push_back(static_cast<int32_t>(i));
      if (found) {
        padded_.assign(e->value);
        key_builder_->AppendString(keys->GetString(i));
      } else {
        padded_.assign("{}");  // every side column NULL
        key_builder_->AppendNull();
      }
      padded_.append(formats::kLinePadding, '\0');
      SLUICE_RETURN_NOT_OK(decoder_->AppendPadded(
          std::string_view(padded_.data(), padded_.size() - formats::kLinePadding),
          [&] { return fmt::format("key '{}'", keys->GetString(i)); }));
    }
    if (selected_.empty()) {
      (void)decoder_->Flush();
      RememberFetched();
      return Status::Ok();
    }
    const int64_t m = static_cast<int64_t>(selected_.size());
    if (decoder_->pending_rows() != m) {
      return Status::User(
          "{}: a value in Redis is not a valid row (bad_data = 'drop' is not "
          "supported for lookups)",
          label_);
    }
    std::vector<batch::ColumnPtr> values = decoder_->Flush();
    RememberFetched();
    batch::ColumnPtr key_col = key_builder_->Finish();
    auto b = std::make_shared<batch::Batch>();
    b->schema = join_.output_schema;
    b->num_rows = m;
    const bool all = m == n;
    for (const batch::ColumnPtr& c : probe->columns) {
      b->columns.push_back(all ? c : batch::Take(*c, selected_.data(), m));
    }
    for (int source : side_columns_) {
      int v = value_index_[static_cast<size_t>(source)];
      b->columns.push_back(v < 0 ? key_col : values[static_cast<size_t>(v)]);
    }
    b->event_time = all ? probe->event_time : batch::Take(*probe->event_time, selected_.data(), m);
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += m;
    return out.Emit(b);
  }

  Status Close() override {
    context_.reset();
    return Status::Ok();
  }

 private:
  struct Entry {
    bool found = false;
    std::string value;
    int64_t fetched = 0;
  };

  int64_t ttl_micros() const { return options_.cache_ttl_micros; }

  const Entry* Find(std::string_view key) {
    auto it = fetched_.find(std::string(key));
    if (it != fetched_.end()) return &it->second;
    auto c = cache_.find(std::string(key));
    return c == cache_.end() ? nullptr : &c->second;
  }

  Status Command(const std::vector<std::string>& args, const char* what) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    std::unique_ptr<redisReply, ReplyDeleter> r(static_cast<redisReply*>(
        redisCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (r == nullptr) {
      return Status::Io("{}: cannot connect to Redis at {}:{}: {}", label_, options_.host,
                        options_.port, context_->errstr);
    }
    if (r->type == REDIS_REPLY_ERROR) {
      return Status::Io("{}: Redis at {}:{} failed {}", label_, options_.host, options_.port, what);
    }
    return Status::Ok();
  }

  // MGETs the misses (pipelined chunks); results go to fetched_ (this batch) and the cache.
  Status Fetch(int64_t now) {
    fetched_.clear();
    if (misses_.empty()) return Status::Ok();
    size_t chunks = 0;
    for (size_t start = 0; start < misses_.size(); start += kMgetChunk) {
      size_t end = std::min(misses_.size(), start + kMgetChunk);
      argv_.assign(1, "MGET");
      lens_.assign(1, 4);
      for (size_t i = start; i < end; ++i) {
        argv_.push_back(misses_[i].data());
        lens_.push_back(misses_[i].size());
      }
      redisAppendCommandArgv(context_.get(), static_cast<int>(argv_.size()), argv_.data(),
                             lens_.data());
      ++chunks;
    }
    size_t next = 0;
    for (size_t c = 0; c < chunks; ++c) {
      void* raw = nullptr;
      if (redisGetReply(context_.get(), &raw) != REDIS_OK) {
        return Status::Io("{}: lookup in Redis at {}:{} failed: {}", label_, options_.host,
                          options_.port, context_->errstr);
      }
      std::unique_ptr<redisReply, ReplyDeleter> r(static_cast<redisReply*>(raw));
      if (r->type != REDIS_REPLY_ARRAY) {
        return Status::Io("{}: Redis at {}:{} answered MGET with {}", label_, options_.host,
                          options_.port,
                          r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "no array");
      }
      for (size_t i = 0; i < r->elements; ++i, ++next) {
        const redisReply* e = r->element[i];
        Entry entry;
        entry.fetched = now;
        if (e->type == REDIS_REPLY_STRING) {
          entry.found = true;
          entry.value.assign(e->str, e->len);
        }
        fetched_.emplace(misses_[next], std::move(entry));
      }
    }
    return Status::Ok();
  }

  // Into the cache once the batch is joined: evicting earlier would drop entries the batch's
  // rows still read.
  void RememberFetched() {
    if (ttl_micros() <= 0) return;
    for (auto& [key, entry] : fetched_) Remember(key, entry);
  }

  void Remember(const std::string& key, const Entry& entry) {
    auto [it, inserted] = cache_.insert_or_assign(key, entry);
    if (inserted) order_.push_back(key);
    while (static_cast<int64_t>(cache_.size()) > options_.cache_max_entries && !order_.empty()) {
      cache_.erase(order_.front());
      order_.pop_front();
    }
  }

  TableSpec side_;
  RedisOptions options_;
  exec::JoinSpec join_;
  std::vector<int> side_columns_;  // per side output column: its column in side_.schema
  int key_column_;                 // the `key` metadata column in side_.schema
  std::string label_;
  types::Schema value_schema_;
  std::vector<int> value_index_;  // side_.schema column -> decoder column (-1: the key)
  std::unique_ptr<formats::Decoder> decoder_;
  std::unique_ptr<redisContext, ContextDeleter> context_;
  std::unordered_map<std::string, Entry> cache_;
  std::deque<std::string> order_;  // cache keys, oldest first
  std::unordered_map<std::string, Entry> fetched_;
  std::vector<std::string> misses_;
  std::unordered_map<std::string, size_t> miss_index_;
  std::vector<int32_t> selected_;
  std::unique_ptr<batch::ColumnBuilder> key_builder_;
  std::string padded_;
  std::vector<const char*> argv_;
  std::vector<size_t> lens_;
};

class RedisLookupFactory : public runtime::OperatorFactory {
 public:
  RedisLookupFactory(TableSpec side, RedisOptions options, exec::JoinSpec join,
                     std::vector<int> side_columns, int key_column)
      : side_(std::move(side)),
        options_(std::move(options)),
        join_(std::move(join)),
        side_columns_(std::move(side_columns)),
        key_column_(key_column) {}
  std::string name() const override { return "redis_lookup_join"; }
  std::string Describe() const override {
    return fmt::format("redis_lookup_join {} {}:{}/{} cache_ttl={}us max_entries={}",
                       join_.type == exec::JoinType::kLeft ? "LEFT" : "INNER", options_.host,
                       options_.port, options_.database, options_.cache_ttl_micros,
                       options_.cache_max_entries);
  }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    return std::unique_ptr<runtime::Operator>(
        new RedisLookupJoin(side_, options_, join_, side_columns_, key_column_));
  }

 private:
  TableSpec side_;
  RedisOptions options_;
  exec::JoinSpec join_;
  std::vector<int> side_columns_;
  int key_column_;
};

}  // namespace

Result<std::shared_ptr<const runtime::OperatorFactory>> MakeRedisLookupJoin(
    const TableSpec& side, const RedisOptions& options, const exec::JoinSpec& join,
    std::vector<int> side_columns) {
  int key_column = -1;
  for (const auto& [column, key] : side.metadata) {
    if (key == "key") key_column = *side.schema.Find(column);
  }
  if (key_column < 0) {
    return Status::User("redis table '{}' needs a key column: key TEXT METADATA FROM 'key'",
                        side.table_name);
  }
  if (join.right_keys.size() != 1 ||
      side_columns[static_cast<size_t>(join.right_keys[0])] != key_column) {
    return Status::NotSupported(
        "a lookup join with redis table '{}' must join ON its key column alone ({} = <an "
        "expression of the probe side>)",
        side.table_name, side.schema.field(static_cast<size_t>(key_column)).name);
  }
  if (join.residual != nullptr) {
    return Status::NotSupported(
        "a lookup join with redis table '{}' joins on the key only; filter in WHERE instead",
        side.table_name);
  }
  return std::shared_ptr<const runtime::OperatorFactory>(std::make_shared<RedisLookupFactory>(
      side, options, join, std::move(side_columns), key_column));
}

}  // namespace sluice::connectors::redis
