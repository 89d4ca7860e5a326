#include "dist/plan_codec.h"

#include <unordered_map>

#include <fmt/format.h>

#include "dist/expr_codec.h"
#include "sql/planner/logical_plan.h"

namespace sluice::dist {

using sql::LogicalPlan;
using sql::PlanKind;
using sql::PlanPtr;

namespace {

constexpr const char* kFormatName = "sluice.dataflow";

constexpr const char* kPlanKinds[] = {
    "source",   "filter",    "project",          "union",
    "sink",     "watermark", "window_aggregate", "updating_aggregate",
    "join",     "top_n",     "unnest",           "over",
    "async_udf"};
static_assert(sizeof(kPlanKinds) / sizeof(kPlanKinds[0]) ==
              static_cast<size_t>(PlanKind::kAsyncUdf) + 1);

template <size_t N>
int IndexOf(const char* const (&names)[N], const std::string& name, const char* what) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<int>(i);
  }
  throw CodecError(fmt::format("unknown {} '{}'", what, name));
}

// Prefixes the path of the member being read to an error thrown below it.
template <typename F>
auto At(const std::string& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const CodecError& e) {
    throw CodecError(fmt::format("{}: {}", path, e.what()));
  }
}

json::array Ints(const std::vector<int>& v) {
  json::array a;
  for (int x : v) a.push_back(x);
  return a;
}

std::vector<int> IntsFrom(const json::object& o, const char* key) {
  std::vector<int> out;
  for (const auto& x : AsArray(Member(o, key), key)) {
    if (!x.is_int64()) throw CodecError(fmt::format("\"{}\" must hold integers", key));
    out.push_back(static_cast<int>(x.get_int64()));
  }
  return out;
}

json::object StringMap(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::map<std::string, std::string> StringMapFrom(const json::object& o, const char* key) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : AsObject(Member(o, key), key)) {
    if (!v.is_string()) throw CodecError(fmt::format("\"{}\" must map names to strings", key));
    out[std::string(k)] = std::string(v.get_string());
  }
  return out;
}

json::object FormatToJson(const formats::FormatOptions& f) {
  json::object o;
  o["format"] = f.format;
  o["bad_data"] = static_cast<int>(f.bad_data);
  o["timestamp_format"] = static_cast<int>(f.timestamp_format);
  o["timestamp_format_set"] = f.timestamp_format_set;
  o["unstructured"] = f.unstructured;
  o["parquet_compression"] = static_cast<int>(f.parquet.compression);
  o["parquet_row_group_rows"] = f.parquet.row_group_rows;
  o["avro_schema"] = f.avro_schema;
  o["avro_raw_datums"] = f.avro_raw_datums;
  o["avro_confluent"] = f.avro_confluent;
  o["avro_schema_id"] = f.avro_schema_id;
  o["protobuf_schema"] = f.protobuf_schema;
  o["protobuf_message_name"] = f.protobuf_message_name;
  o["protobuf_length_delimited"] = f.protobuf_length_delimited;
  o["protobuf_confluent"] = f.protobuf_confluent;
  o["protobuf_schema_id"] = f.protobuf_schema_id;
  o["registry_endpoint"] = f.registry_endpoint;
  o["registry_api_key"] = f.registry_api_key;
  o["registry_api_secret"] = f.registry_api_secret;
  o["registry_subject"] = f.registry_subject;
  return o;
}

formats::FormatOptions FormatFromJson(const json::object& o) {
  formats::FormatOptions f;
  f.format = String(o, "format");
  f.bad_data = static_cast<formats::BadDataPolicy>(Int(o, "bad_data"));
  f.timestamp_format = static_cast<formats::TimestampFormat>(Int(o, "timestamp_format"));
  f.timestamp_format_set = Bool(o, "timestamp_format_set");
  f.unstructured = Bool(o, "unstructured");
  f.parquet.compression = static_cast<formats::ParquetCompression>(Int(o, "parquet_compression"));
  f.parquet.row_group_rows = Int(o, "parquet_row_group_rows");
  f.avro_schema = String(o, "avro_schema");
  f.avro_raw_datums = Bool(o, "avro_raw_datums");
  f.avro_confluent = Bool(o, "avro_confluent");
  f.avro_schema_id = Int(o, "avro_schema_id");
  f.protobuf_schema = String(o, "protobuf_schema");
  f.protobuf_message_name = String(o, "protobuf_message_name");
  f.protobuf_length_delimited = Bool(o, "protobuf_length_delimited");
  f.protobuf_confluent = Bool(o, "protobuf_confluent");
  f.protobuf_schema_id = Int(o, "protobuf_schema_id");
  f.registry_endpoint = String(o, "registry_endpoint");
  f.registry_api_key = String(o, "registry_api_key");
  f.registry_api_secret = String(o, "registry_api_secret");
  f.registry_subject = String(o, "registry_subject");
  return f;
}

json::object TableToJson(const connectors::TableSpec& t) {
  json::object o;
  o["name"] = t.table_name;
  o["connector"] = t.connector;
  o["type"] = t.type == connectors::TableType::kSource ? "source" : "sink";
  o["schema"] = SchemaToJson(t.schema);
  o["options"] = StringMap(t.options);
  o["format"] = FormatToJson(t.format);
  o["primary_key"] = Ints(t.primary_key);
  o["metadata"] = StringMap(t.metadata);
  o["finite"] = t.finite;
  o["changelog"] = t.changelog;
  o["lookup_only"] = t.lookup_only;
  o["batch_rows"] = t.batch_rows;
  return o;
}

std::shared_ptr<const connectors::TableSpec> TableFromJson(const json::value& v) {
  const auto& o = AsObject(v, "table");
  auto t = std::make_shared<connectors::TableSpec>();
  t->table_name = String(o, "name");
  t->connector = String(o, "connector");
  std::string type = String(o, "type");
  if (type != "source" && type != "sink") {
    throw CodecError(fmt::format("table type must be 'source' or 'sink', got '{}'", type));
  }
  t->type = type == "source" ? connectors::TableType::kSource : connectors::TableType::kSink;
  t->schema = SchemaFromJson(Member(o, "schema"));
  t->options = StringMapFrom(o, "options");
  t->format = At("format", [&] { return FormatFromJson(AsObject(Member(o, "format"), "format")); });
  t->primary_key = IntsFrom(o, "primary_key");
  t->metadata = StringMapFrom(o, "metadata");
  t->finite = Bool(o, "finite");
  t->changelog = Bool(o, "changelog");
  t->lookup_only = Bool(o, "lookup_only");
  t->batch_rows = Int(o, "batch_rows");
  if (connectors::ConnectorRegistry::Get().Find(t->connector) == nullptr &&
      t->connector != "preview") {
    throw CodecError(fmt::format("connector '{}' does not exist in this build", t->connector));
  }
  return t;
}

json::object WindowToJson(const exec::WindowSpec& w) {
  json::object o;
  o["kind"] = static_cast<int>(w.kind);
  o["width"] = w.width;
  o["slide"] = w.slide;
  o["gap"] = w.gap;
  o["column"] = w.column;
  return o;
}

exec::WindowSpec WindowFromJson(const json::value& v) {
  const auto& o = AsObject(v, "window");
  exec::WindowSpec w;
  int64_t kind = Int(o, "kind");
  if (kind < 0 || kind > static_cast<int64_t>(exec::WindowSpec::Kind::kFromColumn)) {
    throw CodecError(fmt::format("unknown window kind {}", kind));
  }
  w.kind = static_cast<exec::WindowSpec::Kind>(kind);
  w.width = Int(o, "width");
  w.slide = Int(o, "slide");
  w.gap = Int(o, "gap");
  w.column = static_cast<int>(Int(o, "column"));
  return w;
}

json::object TopNToJson(const exec::TopNSpec& t) {
  json::object o;
  o["function"] = static_cast<int>(t.function);
  o["partition"] = Ints(t.partition);
  o["window_end"] = t.window_end;
  json::array order;
  for (const auto& k : t.order) {
    order.push_back(json::object{
        {"column", k.column}, {"descending", k.descending}, {"nulls_first", k.nulls_first}});
  }
  o["order"] = std::move(order);
  o["limit"] = t.limit;
  o["output_schema"] = t.output_schema ? SchemaToJson(*t.output_schema) : json::value(nullptr);
  return o;
}

exec::TopNSpec TopNFromJson(const json::value& v) {
  const auto& o = AsObject(v, "top_n");
  exec::TopNSpec t;
  t.function = static_cast<exec::RankFunction>(Int(o, "function"));
  t.partition = IntsFrom(o, "partition");
  t.window_end = static_cast<int>(Int(o, "window_end"));
  for (const auto& k : AsArray(Member(o, "order"), "order")) {
    const auto& ko = AsObject(k, "a sort key");
    t.order.push_back(exec::SortKey{static_cast<int>(Int(ko, "column")), Bool(ko, "descending"),
                                    Bool(ko, "nulls_first")});
  }
  t.limit = Int(o, "limit");
  const json::value& schema = Member(o, "output_schema");
  if (!schema.is_null()) t.output_schema = std::make_shared<types::Schema>(SchemaFromJson(schema));
  return t;
}

json::object OverToJson(const exec::OverSpec& s) {
  json::object o;
  o["partition"] = Ints(s.partition);
  json::array calls;
  for (const auto& c : s.calls) {
    calls.push_back(json::object{{"function", static_cast<int>(c.function)},
                                 {"argument", c.argument},
                                 {"default_value", c.default_value},
                                 {"offset", c.offset},
                                 {"rows", c.frame.rows},
                                 {"unbounded_start", c.frame.unbounded_start},
                                 {"start", c.frame.start},
                                 {"end", c.frame.end},
                                 {"type", TypeToJson(c.type)}});
  }
  o["calls"] = std::move(calls);
  o["output_schema"] = s.output_schema ? SchemaToJson(*s.output_schema) : json::value(nullptr);
  return o;
}

exec::OverSpec OverFromJson(const json::value& v) {
  const auto& o = AsObject(v, "over");
  exec::OverSpec s;
  s.partition = IntsFrom(o, "partition");
  for (const auto& c : AsArray(Member(o, "calls"), "calls")) {
    const auto& co = AsObject(c, "a window function call");
    exec::OverCall call;
    call.function = static_cast<exec::OverFunction>(Int(co, "function"));
    call.argument = static_cast<int>(Int(co, "argument"));
    call.default_value = static_cast<int>(Int(co, "default_value"));
    call.offset = Int(co, "offset");
    call.frame.rows = Bool(co, "rows");
    call.frame.unbounded_start = Bool(co, "unbounded_start");
    call.frame.start = Int(co, "start");
    call.frame.end = Int(co, "end");
    call.type = TypeFromJson(Member(co, "type"));
    s.calls.push_back(std::move(call));
  }
  const json::value& schema = Member(o, "output_schema");
  if (!schema.is_null()) s.output_schema = std::make_shared<types::Schema>(SchemaFromJson(schema));
  return s;
}

json::array ExprsToJson(const std::vector<expr::BoundExprPtr>& exprs) {
  json::array a;
  for (const auto& e : exprs) a.push_back(ExprToJson(e));
  return a;
}

// Writes the plan's DAG as a list of nodes, each after its inputs; a node read by several
// parents (plan_reuse.h) is written once and referenced by its index, so the reader rebuilds
// the same sharing.
class PlanWriter {
 public:
  int Write(const PlanPtr& p) {
    if (auto it = ids_.find(p.get()); it != ids_.end()) return it->second;
    if (p->kind == PlanKind::kAsyncUdf) {
      throw CodecError(
          fmt::format("async function {}() is a user-defined function; plans calling it cannot be "
                      "serialized yet",
                      p->async_fn->name()));
    }
    std::vector<int> inputs;
    for (const auto& in : p->inputs) inputs.push_back(Write(in));
    json::object o;
    o["kind"] = kPlanKinds[static_cast<size_t>(p->kind)];
    o["inputs"] = Ints(inputs);
    o["schema"] = SchemaToJson(*p->schema);
    const LogicalPlan d{};  // defaults: only members that differ are written
    if (p->table) o["table"] = TableToJson(*p->table);
    if (!p->columns.empty()) o["columns"] = Ints(p->columns);
    if (p->predicate) o["predicate"] = ExprToJson(p->predicate);
    if (!p->exprs.empty()) o["exprs"] = ExprsToJson(p->exprs);
    if (p->event_time_column != d.event_time_column) o["event_time_column"] = p->event_time_column;
    if (p->watermark) o["watermark"] = ExprToJson(p->watermark);
    if (p->idle_micros) o["idle_micros"] = *p->idle_micros;
    if (p->drop_late) o["drop_late"] = true;
    if (p->processing_time) o["processing_time"] = true;
    if (p->kind == PlanKind::kWindowAggregate) o["window"] = WindowToJson(p->window);
    if (p->num_keys != 0) o["num_keys"] = p->num_keys;
    if (!p->aggregates.empty()) {
      json::array a;
      for (const auto& c : p->aggregates) a.push_back(AggregateCallToJson(c));
      o["aggregates"] = std::move(a);
    }
    if (p->flush_interval_micros != d.flush_interval_micros) {
      o["flush_interval_micros"] = p->flush_interval_micros;
    }
    if (p->kind == PlanKind::kJoin) {
      o["join_type"] = static_cast<int>(p->join_type);
      o["join_mode"] = static_cast<int>(p->join_mode);
      o["left_keys"] = Ints(p->left_keys);
      o["right_keys"] = Ints(p->right_keys);
      o["window_key"] = p->window_key;
      o["lower"] = p->lower;
      o["upper"] = p->upper;
    }
    if (p->residual) o["residual"] = ExprToJson(p->residual);
    if (p->ttl_micros != 0) o["ttl_micros"] = p->ttl_micros;
    if (p->unnest_column != d.unnest_column) o["unnest_column"] = p->unnest_column;
    if (p->kind == PlanKind::kTopN) {
      o["top_n"] = TopNToJson(p->top_n);
      o["rank_read"] = p->rank_read;
    }
    if (p->kind == PlanKind::kOver) o["over"] = OverToJson(p->over);
    int id = static_cast<int>(nodes_.size());
    nodes_.push_back(std::move(o));
    ids_[p.get()] = id;
    return id;
  }
  json::array Take() { return std::move(nodes_); }

 private:
  std::unordered_map<const LogicalPlan*, int> ids_;
  json::array nodes_;
};

PlanPtr ReadNode(const json::object& o, const std::vector<PlanPtr>& done) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = static_cast<PlanKind>(IndexOf(kPlanKinds, String(o, "kind"), "plan node kind"));
  if (p->kind == PlanKind::kAsyncUdf) {
    throw CodecError("async functions are user-defined; plans calling them cannot be read yet");
  }
  for (int in : IntsFrom(o, "inputs")) {
    if (in < 0 || static_cast<size_t>(in) >= done.size()) {
      throw CodecError(fmt::format("input {} is not a node before this one", in));
    }
    p->inputs.push_back(done[static_cast<size_t>(in)]);
  }
  p->schema = std::make_shared<types::Schema>(
      At("schema", [&] { return SchemaFromJson(Member(o, "schema")); }));
  if (o.contains("table")) p->table = At("table", [&] { return TableFromJson(o.at("table")); });
  if (o.contains("columns")) p->columns = IntsFrom(o, "columns");
  if (o.contains("predicate")) {
    p->predicate = At("predicate", [&] { return ExprFromJson(o.at("predicate")); });
  }
  if (o.contains("exprs")) {
    const auto& a = AsArray(o.at("exprs"), "exprs");
    for (size_t i = 0; i < a.size(); ++i) {
      p->exprs.push_back(At(fmt::format("exprs[{}]", i), [&] { return ExprFromJson(a[i]); }));
    }
  }
  if (o.contains("event_time_column")) {
    p->event_time_column = static_cast<int>(Int(o, "event_time_column"));
  }
  if (o.contains("watermark")) {
    p->watermark = At("watermark", [&] { return ExprFromJson(o.at("watermark")); });
  }
  if (o.contains("idle_micros")) p->idle_micros = Int(o, "idle_micros");
  if (o.contains("drop_late")) p->drop_late = Bool(o, "drop_late");
  if (o.contains("processing_time")) p->processing_time = Bool(o, "processing_time");
  if (o.contains("window"))
    p->window = At("window", [&] { return WindowFromJson(o.at("window")); });
  if (o.contains("num_keys")) p->num_keys = static_cast<int>(Int(o, "num_keys"));
  if (o.contains("aggregates")) {
    const auto& a = AsArray(o.at("aggregates"), "aggregates");
    for (size_t i = 0; i < a.size(); ++i) {
      p->aggregates.push_back(
          At(fmt::format("aggregates[{}]", i), [&] { return AggregateCallFromJson(a[i]); }));
    }
  }
  if (o.contains("flush_interval_micros")) {
    p->flush_interval_micros = Int(o, "flush_interval_micros");
  }
  if (p->kind == PlanKind::kJoin) {
    int64_t type = Int(o, "join_type");
    int64_t mode = Int(o, "join_mode");
    if (type < 0 || type > static_cast<int64_t>(exec::JoinType::kMark) || mode < 0 ||
        mode > static_cast<int64_t>(sql::JoinMode::kLookup)) {
      throw CodecError(fmt::format("unknown join type {} or mode {}", type, mode));
    }
    p->join_type = static_cast<exec::JoinType>(type);
    p->join_mode = static_cast<sql::JoinMode>(mode);
    p->left_keys = IntsFrom(o, "left_keys");
    p->right_keys = IntsFrom(o, "right_keys");
    p->window_key = static_cast<int>(Int(o, "window_key"));
    p->lower = Int(o, "lower");
    p->upper = Int(o, "upper");
  }
  if (o.contains("residual")) {
    p->residual = At("residual", [&] { return ExprFromJson(o.at("residual")); });
  }
  if (o.contains("ttl_micros")) p->ttl_micros = Int(o, "ttl_micros");
  if (o.contains("unnest_column")) p->unnest_column = static_cast<int>(Int(o, "unnest_column"));
  if (p->kind == PlanKind::kTopN) {
    p->top_n = At("top_n", [&] { return TopNFromJson(Member(o, "top_n")); });
    p->rank_read = Bool(o, "rank_read");
  }
  if (p->kind == PlanKind::kOver)
    p->over = At("over", [&] { return OverFromJson(Member(o, "over")); });
  return p;
}

json::object GraphToJson(const runtime::DataflowGraph& g) {
  json::array nodes;
  for (const auto& n : g.nodes) {
    json::array chain;
    for (const auto& op : n.chain) {
      chain.push_back(json::object{{"name", op->name()}, {"describe", op->Describe()}});
    }
    nodes.push_back(
        json::object{{"id", n.id}, {"parallelism", n.parallelism}, {"chain", std::move(chain)}});
  }
  json::array edges;
  for (const auto& e : g.edges) {
    json::array keys;
    for (const auto& k : e.key_names) keys.push_back(json::string(k));
    edges.push_back(json::object{{"from", e.from},
                                 {"to", e.to},
                                 {"input", e.to_input},
                                 {"kind", runtime::EdgeKindName(e.kind)},
                                 {"keys", std::move(keys)}});
  }
  return json::object{{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
}

// The first difference between the recorded graph and the one compiled here.
std::string GraphDifference(const json::object& recorded, const json::object& compiled) {
  for (const char* part : {"nodes", "edges"}) {
    const auto& a = AsArray(Member(recorded, part), part);
    const auto& b = AsArray(Member(compiled, part), part);
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (a[i] != b[i]) {
        return fmt::format("{}[{}] is {} in the plan but {} here", part, i, json::serialize(a[i]),
                           json::serialize(b[i]));
      }
    }
    if (a.size() != b.size()) {
      return fmt::format("the plan has {} {} but {} compile here", a.size(), part, b.size());
    }
  }
  return "";
}

}  // namespace

std::string GraphSignature(const runtime::DataflowGraph& graph) {
  return graph.ToString();
}

Result<std::string> EncodePlan(const sql::PipelinePlan& plan, const sql::CompileOptions& options) {
  auto graph = sql::Compile(plan, options);
  if (!graph.ok()) return graph.status();
  try {
    PlanWriter writer;
    json::array sinks;
    for (const auto& s : plan.sinks) sinks.push_back(writer.Write(s));
    json::object doc;
    doc["format"] = kFormatName;
    doc["version"] = kPlanFormatVersion;
    doc["min_reader_version"] = kPlanMinReaderVersion;
    doc["compile"] =
        json::object{{"parallelism", options.parallelism}, {"batch_rows", options.batch_rows}};
    doc["settings"] = StringMap(plan.settings);
    doc["plan"] = json::object{{"nodes", writer.Take()}, {"sinks", std::move(sinks)}};
    doc["graph"] = GraphToJson(*graph);
    return json::serialize(doc);
  } catch (const CodecError& e) {
    return Status::NotSupported("serializing the dataflow graph: {}", e.what());
  }
}

Result<DecodedPlan> DecodePlan(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) {
    return Status::User(
        "serialized dataflow graph: not valid JSON ({}); expected the output of "
        "a Sluice coordinator",
        ec.message());
  }
  try {
    const auto& doc = AsObject(root, "the document");
    if (!doc.contains("format") || !doc.at("format").is_string() ||
        doc.at("format").get_string() != kFormatName) {
      throw CodecError(
          fmt::format("not a serialized dataflow graph (\"format\" must be \"{}\")", kFormatName));
    }
    int64_t version = Int(doc, "version");
    int64_t min_reader = Int(doc, "min_reader_version");
    if (min_reader > kPlanFormatVersion) {
      throw CodecError(fmt::format(
          "written in format version {}, which needs a reader of version {} or newer; this "
          "build reads up to version {}: upgrade the worker to the coordinator's version",
          version, min_reader, kPlanFormatVersion));
    }
    DecodedPlan out;
    const auto& compile = AsObject(Member(doc, "compile"), "compile");
    out.options.parallelism = static_cast<int>(Int(compile, "parallelism"));
    out.options.batch_rows = Int(compile, "batch_rows");
    if (out.options.parallelism < 1 || out.options.batch_rows < 1) {
      throw CodecError("compile: parallelism and batch_rows must be at least 1");
    }
    out.plan.settings = StringMapFrom(doc, "settings");
    const auto& plan = AsObject(Member(doc, "plan"), "plan");
    std::vector<PlanPtr> nodes;
    const auto& node_array = AsArray(Member(plan, "nodes"), "plan.nodes");
    for (size_t i = 0; i < node_array.size(); ++i) {
      nodes.push_back(At(fmt::format("plan.nodes[{}]", i),
                         [&] { return ReadNode(AsObject(node_array[i], "a plan node"), nodes); }));
    }
    for (int s : IntsFrom(plan, "sinks")) {
      if (s < 0 || static_cast<size_t>(s) >= nodes.size()) {
        throw CodecError(fmt::format("plan.sinks: {} is not a node", s));
      }
      out.plan.sinks.push_back(nodes[static_cast<size_t>(s)]);
    }
    auto graph = sql::Compile(out.plan, out.options);
    if (!graph.ok()) {
      return Status::User("serialized dataflow graph: the plan does not compile here: {}",
                          graph.status().message());
    }
    const auto& recorded = AsObject(Member(doc, "graph"), "graph");
    std::string diff = GraphDifference(recorded, GraphToJson(*graph));
    if (!diff.empty()) {
      return Status::User(
          "serialized dataflow graph: the plan compiles to another graph here than where it was "
          "planned ({}); run the same Sluice version on the coordinator and every worker",
          diff);
    }
    out.graph = graph.MoveValue();
    return out;
  } catch (const CodecError& e) {
    return Status::User("serialized dataflow graph: {}", e.what());
  } catch (const std::exception& e) {
    return Status::User("serialized dataflow graph: {}", e.what());
  }
}

Result<sql::PipelinePlan> RoundTripPlan(const sql::PipelinePlan& plan,
                                        const sql::CompileOptions& options) {
  auto text = EncodePlan(plan, options);
  if (!text.ok()) return text.status();
  auto decoded = DecodePlan(*text);
  if (!decoded.ok()) return decoded.status();
  return std::move(decoded->plan);
}

}  // namespace sluice::dist
