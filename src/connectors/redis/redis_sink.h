#pragma once
// The redis connector's options and its sink (redis_sink.cc explains the commands).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/connector.h"
#include "exec/join.h"
#include "runtime/operator.h"

namespace sluice::connectors::redis {

enum class Target { kString, kList, kHash };
enum class ListOperation { kAppend, kPrepend };

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;
  std::string password;  // secret: never printed
  int database = 0;
  Target target = Target::kString;
  std::string key_prefix;
  std::string key_column;    // empty: the key is the prefix alone
  std::string field_column;  // hash: the field of each row
  int64_t ttl_seconds = 0;   // 0: keys do not expire
  int64_t max_length = 0;    // list: trimmed to this many elements (0: unbounded)
  ListOperation operation = ListOperation::kAppend;
  int connect_timeout_ms = 5000;
  int command_timeout_ms = 30000;
  // Lookup tables: the cache (off when the TTL is 0).
  int64_t cache_ttl_micros = 0;
  int64_t cache_max_entries = 100000;
};

const std::vector<OptionSpec>& RedisOptionSpecs();
std::vector<std::string> RedisOptionKeys();

// Parses `address` (redis://[user[:password]@]host[:port][/db]) and the target options.
Result<RedisOptions> ParseRedisOptions(const TableSpec& spec);

// The lookup join of a probe stream with redis table `side` (redis_lookup.cc). `side_columns`:
// for each column of join.right_schema, the column of side.schema it is.
Result<std::shared_ptr<const runtime::OperatorFactory>> MakeRedisLookupJoin(
    const TableSpec& side, const RedisOptions& options, const exec::JoinSpec& join,
    std::vector<int> side_columns);

std::unique_ptr<runtime::Operator> MakeRedisSink(const TableSpec& spec,
                                                 const RedisOptions& options);

}  // namespace sluice::connectors::redis
