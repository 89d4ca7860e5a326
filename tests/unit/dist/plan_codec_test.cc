// The serialized dataflow graph (src/dist/plan_codec.h): values survive exactly, a rebuilt plan
// compiles to the same graph, and every kind of bad input is one clear error.
#include "dist/plan_codec.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "dist/expr_codec.h"

namespace sluice::dist {
namespace {

using types::DataType;
using types::TypeId;
using types::Value;

Value RoundTrip(const Value& v) {
  return ValueFromJson(json::parse(json::serialize(ValueToJson(v))));
}

TEST(ValueCodec, KeepsEveryKindOfValueExactly) {
  std::vector<Value> values = {
      Value::Null(types::Int64()),
      Value::Boolean(true),
      Value::Int(DataType(TypeId::kInt16), -12345),
      Value::Int64(std::numeric_limits<int64_t>::min()),
      Value::UInt(types::UInt64(), std::numeric_limits<uint64_t>::max()),
      Value::Double(0.1),
      Value::Double(-0.0),
      Value::Double(std::numeric_limits<double>::infinity()),
      Value::Decimal(DataType::Decimal(38, 4), -(static_cast<types::int128_t>(1) << 100)),
      Value::String("naïve \"quoted\"\n"),
      Value::Bytes(DataType(TypeId::kBinary), std::string("\x00\xff\x80z", 4)),
      Value::Timestamp(1700000000123456),
      Value::Int(DataType::TimestampTz(), 42),
      Value::IntervalValue({-1, 2, -3000000}),
      Value::Nested(DataType::List(types::Int32()),
                    {Value::Int(types::Int32(), 1), Value::Null(types::Int32())}),
  };
  for (const auto& v : values) {
    Value back = RoundTrip(v);
    EXPECT_EQ(back.type(), v.type()) << v.ToString();
    EXPECT_TRUE(back.payload() == v.payload())
        << v.ToString() << " came back as " << back.ToString();
  }
  Value nan = RoundTrip(Value::Double(std::nan("")));
  EXPECT_TRUE(std::isnan(nan.double_value()));
  Value neg_zero = RoundTrip(Value::Double(-0.0));
  EXPECT_TRUE(std::signbit(neg_zero.double_value()));
}

TEST(ValueCodec, KeepsNestedTypes) {
  DataType t = DataType::Struct({{"a", DataType::List(DataType::Decimal(10, 2)), true},
                                 {"b", DataType::TimestampTz(), false}});
  DataType back = TypeFromJson(json::parse(json::serialize(TypeToJson(t))));
  EXPECT_EQ(back, t);
  EXPECT_TRUE(back.fields()[1].type.with_time_zone());
  EXPECT_EQ(back.ToString(), t.ToString());
}

// Plans `sql` and returns its serialized form at `parallelism`.
std::string Encoded(const std::string& sql, int parallelism) {
  auto plan = sql::PlanSql(sql);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  sql::CompileOptions options;
  options.parallelism = parallelism;
  auto text = EncodePlan(*plan, options);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

const char* kWindowedJoin = R"sql(
CREATE TABLE ticks WITH (connector = 'impulse', event_rate = '1000', message_count = '5000');
CREATE VIEW bids AS
  SELECT CAST(counter % 7 AS BIGINT) AS auction, CAST(counter % 13 AS DECIMAL(10, 2)) AS price,
         'Bidder' || CAST(counter % 5 AS TEXT) AS bidder
  FROM ticks;
CREATE TABLE out WITH (connector = 'blackhole');
INSERT INTO out
SELECT a.auction, a.n, b.top, lower(a.who) AS who
FROM (SELECT auction, count(*) AS n, max(bidder) AS who, tumble(INTERVAL '10' SECOND) AS w
      FROM bids WHERE price > 1.5 GROUP BY auction, w) a
JOIN (SELECT auction, max(price) AS top, tumble(INTERVAL '10' SECOND) AS w
      FROM bids GROUP BY auction, w) b
ON a.auction = b.auction AND a.w = b.w;
)sql";

TEST(PlanCodec, RebuildsTheSameGraph) {
  auto plan = sql::PlanSql(kWindowedJoin);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  sql::CompileOptions options;
  options.parallelism = 3;
  auto original = sql::Compile(*plan, options);
  ASSERT_TRUE(original.ok());
  auto text = EncodePlan(*plan, options);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto decoded = DecodePlan(*text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->options.parallelism, 3);
  EXPECT_EQ(GraphSignature(decoded->graph), GraphSignature(*original));
  EXPECT_EQ(decoded->plan.ToString(), plan->ToString());
  // The graph has a hash edge on the join keys and a window aggregate per side.
  EXPECT_NE(GraphSignature(decoded->graph).find("hash"), std::string::npos);
  // Encoding the rebuilt plan gives the same text: nothing was lost or added.
  auto again = EncodePlan(decoded->plan, decoded->options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *text);
}

TEST(PlanCodec, NotJsonIsOneClearError) {
  auto r = DecodePlan("{\"format\": ");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not valid JSON"), std::string::npos) << r.status().message();
}

TEST(PlanCodec, ForeignDocumentIsRefused) {
  auto r = DecodePlan(R"({"format": "something else", "version": 1})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"format\" must be \"sluice.dataflow\""), std::string::npos)
      << r.status().message();
}

TEST(PlanCodec, NewerFormatNamesTheVersions) {
  json::value doc = json::parse(Encoded(kWindowedJoin, 1));
  doc.as_object()["version"] = 7;
  doc.as_object()["min_reader_version"] = 5;
  auto r = DecodePlan(json::serialize(doc));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("needs a reader of version 5 or newer"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("upgrade the worker"), std::string::npos);
}

TEST(PlanCodec, UnknownFunctionNamesItsPlace) {
  std::string text = Encoded(kWindowedJoin, 1);
  auto at = text.find("\"name\":\"lower\"");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 14, "\"name\":\"lowr\"");
  auto r = DecodePlan(text);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("function lowr() does not bind here"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("plan.nodes["), std::string::npos) << r.status().message();
}

TEST(PlanCodec, AnotherGraphHereIsRefusedWithTheDifference) {
  json::value doc = json::parse(Encoded(kWindowedJoin, 2));
  auto& nodes = doc.as_object()["graph"].as_object()["nodes"].as_array();
  ASSERT_FALSE(nodes.empty());
  nodes.back().as_object()["parallelism"] = 5;
  auto r = DecodePlan(json::serialize(doc));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("compiles to another graph here"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("\"parallelism\":5"), std::string::npos)
      << r.status().message();
}

TEST(PlanCodec, MissingMemberNamesThePath) {
  json::value doc = json::parse(Encoded(kWindowedJoin, 1));
  auto& nodes = doc.as_object()["plan"].as_object()["nodes"].as_array();
  nodes[0].as_object().erase("schema");
  auto r = DecodePlan(json::serialize(doc));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("plan.nodes[0]: schema: missing member \"schema\""),
            std::string::npos)
      << r.status().message();
}

TEST(PlanCodec, ForwardInputReferenceIsRefused) {
  json::value doc = json::parse(Encoded(kWindowedJoin, 1));
  auto& nodes = doc.as_object()["plan"].as_object()["nodes"].as_array();
  nodes[0].as_object()["inputs"] = json::array{3};
  auto r = DecodePlan(json::serialize(doc));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("input 3 is not a node before this one"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace sluice::dist
