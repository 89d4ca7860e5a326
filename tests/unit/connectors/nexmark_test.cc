// The nexmark source: proportions, deterministic ids and timestamps at any parallelism,
// references within the generated ranges, finite runs.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "batch/serialize.h"
#include "connectors/connector.h"
#include "connectors/nexmark.h"
#include "runtime/state.h"

namespace sluice::connectors {
namespace {

namespace nx = nexmark;

struct Collected : public runtime::Collector {
  Status Emit(const batch::BatchPtr& batch) override {
    batches.push_back(batch);
    return Status::Ok();
  }
  Status EmitWatermark(Watermark) override { return Status::Ok(); }
  std::vector<batch::BatchPtr> batches;
};

std::shared_ptr<const runtime::OperatorFactory> NexmarkFactory(
    std::map<std::string, std::string> options) {
  options["connector"] = "nexmark";
  auto spec = ResolveTable("nexmark", types::Schema(), false, options);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) return nullptr;
  EXPECT_TRUE(spec->finite);
  auto factory = ConnectorRegistry::Get().Find("nexmark")->MakeSource(*spec);
  EXPECT_TRUE(factory.ok()) << factory.status().ToString();
  return factory.ok() ? *factory : nullptr;
}

// One row as seen in a batch: kind, key id (person id / auction id / bid auction), event time.
struct Row {
  nx::EventKind kind;
  int64_t key;
  int64_t event_time;
  bool operator==(const Row& o) const {
    return kind == o.kind && key == o.key && event_time == o.event_time;
  }
};

// Runs every subtask to its end; rows keyed by event id (recovered from the subtask's order).
std::map<uint64_t, Row> RunAll(const runtime::OperatorFactory& factory, int parallelism) {
  std::map<uint64_t, Row> rows;
  for (int s = 0; s < parallelism; ++s) {
    auto source = factory.CreateSource(s, parallelism);
    EXPECT_TRUE(source.ok());
    runtime::OperatorContext ctx;
    ctx.subtask = s;
    ctx.parallelism = parallelism;
    EXPECT_TRUE((*source)->Open(ctx).ok());
    Collected out;
    bool finished = false;
    for (int polls = 0; polls < 100000 && !finished; ++polls) {
      auto poll = (*source)->Poll(out);
      EXPECT_TRUE(poll.ok());
      finished = !poll.ok() || poll->kind == runtime::SourcePoll::Kind::kFinished;
    }
    EXPECT_TRUE(finished) << "a finite nexmark source must end";
    uint64_t index = 0;
    for (const auto& b : out.batches) {
      EXPECT_EQ(b->columns.size(), 3u);
      for (int64_t i = 0; i < b->num_rows; ++i, ++index) {
        uint64_t id = static_cast<uint64_t>(s) + index * static_cast<uint64_t>(parallelism);
        int non_null = 0;
        Row row{};
        row.event_time = b->event_time->raw<int64_t>()[i];
        for (size_t c = 0; c < 3; ++c) {
          if (b->columns[c]->IsValid(i)) {
            ++non_null;
            row.kind = static_cast<nx::EventKind>(c);
            row.key = b->columns[c]->children[0]->raw<int64_t>()[i];
          }
        }
        EXPECT_EQ(non_null, 1) << "event " << id;
        EXPECT_TRUE(rows.emplace(id, row).second) << "duplicate event " << id;
      }
    }
  }
  return rows;
}

TEST(NexmarkTest, SchemaFollowsArroyo) {
  EXPECT_EQ(nx::NexmarkSchema().ToString(),
            "(person STRUCT<id BIGINT, name TEXT, email_address TEXT, credit_card TEXT, city TEXT, "
            "state TEXT, datetime TIMESTAMP, extra TEXT>, auction STRUCT<id BIGINT, item_name "
            "TEXT, description TEXT, initial_bid BIGINT, reserve BIGINT, datetime TIMESTAMP, "
            "expires TIMESTAMP, seller BIGINT, category BIGINT, extra TEXT>, bid STRUCT<auction "
            "BIGINT, bidder BIGINT, price BIGINT, channel TEXT, url TEXT, datetime TIMESTAMP, "
            "extra TEXT>)");
}

TEST(NexmarkTest, ProportionsOverFiveThousandEvents) {
  auto factory = NexmarkFactory({{"events", "5000"}});
  ASSERT_NE(factory, nullptr);
  auto rows = RunAll(*factory, 1);
  ASSERT_EQ(rows.size(), 5000u);
  std::map<nx::EventKind, int> counts;
  for (const auto& [id, row] : rows) ++counts[row.kind];
  EXPECT_EQ(counts[nx::EventKind::kPerson], 100);
  EXPECT_EQ(counts[nx::EventKind::kAuction], 300);
  EXPECT_EQ(counts[nx::EventKind::kBid], 4600);
  // Within each block of 50: one person, then three auctions, then 46 bids.
  EXPECT_EQ(rows.at(0).kind, nx::EventKind::kPerson);
  EXPECT_EQ(rows.at(3).kind, nx::EventKind::kAuction);
  EXPECT_EQ(rows.at(4).kind, nx::EventKind::kBid);
  EXPECT_EQ(rows.at(4950).kind, nx::EventKind::kPerson);
}

TEST(NexmarkTest, IdsAndTimestampsAreDerivedFromTheEventId) {
  nx::GeneratorOptions options;  // nominal 10000 events/s: 100 µs apart, truncated to ms
  for (uint64_t id : {0ull, 1ull, 49ull, 50ull, 51ull, 1234ull, 4999ull}) {
    nx::Event e = nx::Generate(id, options);
    int64_t ts = (nx::kBaseTimeMillis + static_cast<int64_t>(id) / 10) * 1000;
    EXPECT_EQ(e.timestamp, ts) << id;
    if (e.kind == nx::EventKind::kPerson) {
      EXPECT_EQ(e.person.id, 1000 + static_cast<int64_t>(id / 50));
      EXPECT_EQ(e.person.datetime, ts);
    } else if (e.kind == nx::EventKind::kAuction) {
      EXPECT_EQ(e.auction.id,
                1000 + static_cast<int64_t>(id / 50) * 3 + static_cast<int64_t>(id % 50) - 1);
      EXPECT_GT(e.auction.expires, e.auction.datetime);
    }
    // Same id, same event.
    nx::Event again = nx::Generate(id, options);
    EXPECT_EQ(again.person.name, e.person.name);
    EXPECT_EQ(again.auction.description, e.auction.description);
    EXPECT_EQ(again.bid.price, e.bid.price);
    EXPECT_EQ(again.bid.extra, e.bid.extra);
  }
  // A different seed gives different contents, same ids and times.
  nx::GeneratorOptions seeded;
  seeded.seed = 7;
  nx::Event a = nx::Generate(10, options), b = nx::Generate(10, seeded);
  EXPECT_EQ(a.timestamp, b.timestamp);
  EXPECT_NE(a.bid.extra, b.bid.extra);
  // The reference's base time: 2015-07-15T00:00:00Z.
  EXPECT_EQ(nx::Generate(0, options).timestamp, 1436918400000000LL);
  nx::GeneratorOptions slow;
  slow.nominal_rate = 100;  // 10 ms apart
  EXPECT_EQ(nx::TimestampOf(250, slow), (1436918400000LL + 2500) * 1000);
}

TEST(NexmarkTest, SameEventsAtParallelismOneAndThree) {
  auto factory = NexmarkFactory({{"events", "1000"}, {"first_event_rate", "1000"}});
  ASSERT_NE(factory, nullptr);
  auto one = RunAll(*factory, 1);
  auto three = RunAll(*factory, 3);
  ASSERT_EQ(one.size(), 1000u);
  ASSERT_EQ(three.size(), 1000u);
  for (uint64_t id = 0; id < 1000; ++id) {
    ASSERT_TRUE(three.count(id)) << "missing event " << id;
    EXPECT_TRUE(one.at(id) == three.at(id)) << "event " << id;
    EXPECT_EQ(one.at(id).event_time, (nx::kBaseTimeMillis + static_cast<int64_t>(id)) * 1000);
  }
}

TEST(NexmarkTest, ReferencesStayWithinTheGeneratedRanges) {
  nx::GeneratorOptions options;
  std::set<int64_t> hot_sellers_seen;
  int hot_auction_bids = 0, bids = 0;
  for (uint64_t id = 0; id < 20000; ++id) {
    nx::Event e = nx::Generate(id, options);
    if (e.kind == nx::EventKind::kBid) {
      ++bids;
      const nx::Bid& b = e.bid;
      // Auctions among the last 100 in flight, or up to 10 ahead.
      EXPECT_GE(b.auction, std::max<int64_t>(nx::LastAuctionId(id) - 100, 1000));
      EXPECT_LE(b.auction, nx::LastAuctionId(id) + 10);
      EXPECT_GE(b.bidder, 1000);
      EXPECT_LE(b.bidder, nx::LastPersonId(id) + 10);
      EXPECT_GE(b.price, 100);
      EXPECT_LE(b.price, 100000000);
      EXPECT_FALSE(b.channel.empty());
      EXPECT_EQ(b.url.rfind("https://www.nexmark.com/", 0), 0u) << b.url;
      if ((b.auction - 1000) % 100 == 0) ++hot_auction_bids;
    } else if (e.kind == nx::EventKind::kAuction) {
      const nx::Auction& a = e.auction;
      EXPECT_GE(a.seller, 1000);
      EXPECT_LE(a.seller, nx::LastPersonId(id) + 10);
      EXPECT_GE(a.category, 10);
      EXPECT_LE(a.category, 14);
      EXPECT_GT(a.reserve, a.initial_bid);
      hot_sellers_seen.insert(a.seller);
    } else {
      const nx::Person& p = e.person;
      EXPECT_NE(p.email_address.find('@'), std::string::npos);
      EXPECT_EQ(p.credit_card.size(), 19u);
      EXPECT_NE(p.name.find(' '), std::string::npos);
    }
  }
  // Hot auctions: a large share of the bids (nominally 1/2; java.util.Random seeded with
  // consecutive event ids, as in the reference, makes the first draw less than uniform).
  EXPECT_GT(hot_auction_bids, bids * 30 / 100);
  EXPECT_LT(hot_auction_bids, bids * 70 / 100);
}

// FNV-1a over every row of a batch (validity and values of every field, as text), so a change
// to any generated value or to the layout of NULL rows shows up.
uint64_t Digest(const batch::Batch& b, uint64_t h = 1469598103934665603ULL) {
  auto mix = [&h](std::string_view s) {
    for (char c : s) {
      h ^= static_cast<uint8_t>(c);
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  for (int64_t i = 0; i < b.num_rows; ++i) {
    mix(std::to_string(b.event_time->raw<int64_t>()[i]));
    for (const auto& c : b.columns) {
      mix(c->IsValid(i) ? "v" : "n");
      for (const auto& child : c->children) mix(child->GetValue(i).ToString());
    }
  }
  return h;
}

// Values pinned from the generator as first written (before it was made column-wise), so that
// optimizations cannot change what a given event id and configuration produce.
TEST(NexmarkTest, PinnedValues) {
  nx::GeneratorOptions options;
  nx::Event p = nx::Generate(0, options);
  ASSERT_EQ(p.kind, nx::EventKind::kPerson);
  EXPECT_EQ(p.person.id, 1000);
  EXPECT_EQ(p.person.name, "Kate Smith");
  EXPECT_EQ(p.person.email_address, "nhd@xcat.com");
  EXPECT_EQ(p.person.credit_card, "7241 7320 9143 4888");
  EXPECT_EQ(p.person.city, "Portland");
  EXPECT_EQ(p.person.state, "WY");
  EXPECT_EQ(p.person.extra.substr(0, 20), "WN_HS_bnpkkiwhwana_L");
  EXPECT_EQ(p.person.extra.size(), 157u);
  nx::Event a = nx::Generate(2, options);
  ASSERT_EQ(a.kind, nx::EventKind::kAuction);
  EXPECT_EQ(a.auction.id, 1001);
  EXPECT_EQ(a.auction.item_name, "z ck w");
  EXPECT_EQ(a.auction.initial_bid, 25626290);
  EXPECT_EQ(a.auction.reserve, 28805847);
  EXPECT_EQ(a.auction.seller, 1000);
  EXPECT_EQ(a.auction.category, 12);
  EXPECT_EQ(a.auction.expires - a.auction.datetime, 202000);
  EXPECT_EQ(a.auction.extra.size(), 319u);
  nx::Event b = nx::Generate(12345, options);
  ASSERT_EQ(b.kind, nx::EventKind::kBid);
  EXPECT_EQ(b.bid.auction, 1710);
  EXPECT_EQ(b.bid.bidder, 1201);
  EXPECT_EQ(b.bid.price, 31819124);
  EXPECT_EQ(b.bid.channel, "channel-1375");
  EXPECT_EQ(b.bid.url, "https://www.nexmark.com/ijhk/p_l/vvl/item.htm?query=1&channel_id=90177536");
  EXPECT_EQ(b.bid.extra,
            "fxwpdhubxcumcctffwU[HZY]qcsizf`ZJO^\\`HJKMayknkupkswmffS]\\ZWHZ]M^S\\fdloyq");

  auto schema = std::make_shared<const types::Schema>(nx::NexmarkSchema());
  uint64_t h = 1469598103934665603ULL;
  for (uint64_t first = 0; first < 20000; first += 4096) {
    h = Digest(
        *nx::GenerateBatch(first, 1, std::min<int64_t>(4096, 20000 - first), options, schema), h);
  }
  EXPECT_EQ(h, 4221648451521039761ULL);
  nx::GeneratorOptions other;
  other.seed = 42;
  other.nominal_rate = 777;
  EXPECT_EQ(Digest(*nx::GenerateBatch(1000001, 3, 3000, other, schema)), 16194158490729488307ULL);
}

// Field `name` of struct column `column` in a batch (by name, as schemas may be narrowed).
const batch::Column* Field(const batch::Batch& b, const std::string& column,
                           const std::string& name) {
  auto c = b.schema->Find(column);
  if (!c) return nullptr;
  const auto& fields = b.schema->field(*c).type.fields();
  for (size_t f = 0; f < fields.size(); ++f) {
    if (fields[f].name == name) return b.columns[*c]->children[f].get();
  }
  return nullptr;
}

// Compares every produced value of `b` (events first_id + i * stride) with the per-event
// reference, nx::Generate; NULL rows must hold zeros and empty strings, with the struct's
// validity, as ColumnBuilder would leave them.
void ExpectMatchesReference(const batch::Batch& b, uint64_t first_id, uint64_t stride,
                            const nx::GeneratorOptions& options) {
  const std::vector<std::string> kinds = {"person", "auction", "bid"};
  for (int64_t i = 0; i < b.num_rows; ++i) {
    const uint64_t id = first_id + static_cast<uint64_t>(i) * stride;
    const nx::Event e = nx::Generate(id, options);
    ASSERT_EQ(b.event_time->raw<int64_t>()[i], e.timestamp) << id;
    for (size_t k = 0; k < kinds.size(); ++k) {
      auto c = b.schema->Find(kinds[k]);
      if (!c) continue;
      const batch::Column& column = *b.columns[*c];
      const bool valid = static_cast<size_t>(e.kind) == k;
      ASSERT_EQ(column.IsValid(i), valid) << id;
      for (const auto& child : column.children) ASSERT_EQ(child->IsValid(i), valid) << id;
      auto check_int = [&](const std::string& name, int64_t expected) {
        if (const batch::Column* f = Field(b, kinds[k], name)) {
          ASSERT_EQ(f->raw<int64_t>()[i], valid ? expected : 0) << id << " " << name;
        }
      };
      auto check_string = [&](const std::string& name, const std::string& expected) {
        if (const batch::Column* f = Field(b, kinds[k], name)) {
          ASSERT_EQ(f->GetString(i), valid ? expected : "") << id << " " << name;
        }
      };
      if (k == 0) {
        check_int("id", e.person.id);
        check_string("name", e.person.name);
        check_string("email_address", e.person.email_address);
        check_string("credit_card", e.person.credit_card);
        check_string("city", e.person.city);
        check_string("state", e.person.state);
        check_int("datetime", e.person.datetime);
        check_string("extra", e.person.extra);
      } else if (k == 1) {
        check_int("id", e.auction.id);
        check_string("item_name", e.auction.item_name);
        check_string("description", e.auction.description);
        check_int("initial_bid", e.auction.initial_bid);
        check_int("reserve", e.auction.reserve);
        check_int("datetime", e.auction.datetime);
        check_int("expires", e.auction.expires);
        check_int("seller", e.auction.seller);
        check_int("category", e.auction.category);
        check_string("extra", e.auction.extra);
      } else {
        check_int("auction", e.bid.auction);
        check_int("bidder", e.bid.bidder);
        check_int("price", e.bid.price);
        check_string("channel", e.bid.channel);
        check_string("url", e.bid.url);
        check_int("datetime", e.bid.datetime);
        check_string("extra", e.bid.extra);
      }
    }
  }
}

// The column-wise generator against the per-event reference, over several configurations.
TEST(NexmarkTest, BatchesMatchTheReference) {
  auto schema = std::make_shared<const types::Schema>(nx::NexmarkSchema());
  nx::GeneratorOptions defaults;
  nx::GeneratorOptions seeded;
  seeded.seed = 7;
  seeded.nominal_rate = 777;
  nx::GeneratorOptions fast;
  fast.seed = 123456789;
  fast.nominal_rate = 5e6;
  struct Run {
    uint64_t first, stride;
    int64_t n;
    nx::GeneratorOptions options;
  };
  for (const Run& run :
       {Run{0, 1, 30000, defaults}, Run{3, 4, 5000, defaults}, Run{40000000000ULL, 7, 5000, seeded},
        Run{1, 50, 1000, defaults}, Run{987654321, 3, 5000, fast}, Run{5, 1, 0, defaults}}) {
    SCOPED_TRACE(run.first);
    for (int64_t done = 0; done < run.n || done == 0; done += 4096) {
      const int64_t n = std::min<int64_t>(4096, run.n - done);
      const uint64_t first = run.first + static_cast<uint64_t>(done) * run.stride;
      auto b = nx::GenerateBatch(first, run.stride, n, run.options, schema);
      ASSERT_EQ(b->num_rows, n);
      ASSERT_EQ(b->columns.size(), 3u);
      ExpectMatchesReference(*b, first, run.stride, run.options);
      if (n == 0) break;
    }
  }
}

types::Field Narrowed(const types::Field& column, const std::vector<std::string>& names) {
  std::vector<types::Field> fields;
  for (const auto& name : names) {
    for (const auto& f : column.type.fields()) {
      if (f.name == name) fields.push_back(f);
    }
  }
  return {column.name, types::DataType::Struct(fields), column.nullable};
}

// Narrowed schemas (as a source pruned to what a query reads): fewer columns, fewer fields, in
// any order; the values produced are those of the full generator.
TEST(NexmarkTest, NarrowedSchemas) {
  const types::Schema full = nx::NexmarkSchema();
  nx::GeneratorOptions options;
  options.seed = 3;
  std::vector<std::vector<types::Field>> schemas = {
      {Narrowed(full.field(2), {"auction", "bidder", "price", "datetime", "extra"})},
      {Narrowed(full.field(2), {"extra", "url", "price"}), full.field(0)},
      {Narrowed(full.field(1), {"description", "id", "reserve"}),
       Narrowed(full.field(0), {"email_address"}), Narrowed(full.field(2), {"channel"})},
      {Narrowed(full.field(1), {})},
      {},
  };
  for (const auto& fields : schemas) {
    auto schema = std::make_shared<const types::Schema>(fields);
    SCOPED_TRACE(schema->ToString());
    auto generator = nx::BatchGenerator::Make(schema, options);
    ASSERT_TRUE(generator.ok()) << generator.status().ToString();
    for (uint64_t first : {0ull, 4096ull * 3 + 17}) {
      auto b = generator->Generate(first, 2, 4096);
      ASSERT_EQ(b->num_rows, 4096);
      ASSERT_EQ(b->columns.size(), fields.size());
      for (size_t c = 0; c < fields.size(); ++c) {
        EXPECT_EQ(b->columns[c]->type, fields[c].type);
        EXPECT_EQ(b->columns[c]->length, 4096);
      }
      ExpectMatchesReference(*b, first, 2, options);
    }
  }
  // Not a narrowing of the nexmark schema.
  auto bad = [&](std::vector<types::Field> fields) {
    return nx::BatchGenerator::Make(std::make_shared<const types::Schema>(std::move(fields)),
                                    options)
        .ok();
  };
  EXPECT_FALSE(bad({{"bids", full.field(2).type, true}}));
  EXPECT_FALSE(bad({full.field(2), full.field(2)}));
  EXPECT_FALSE(bad({{"bid", types::Int64(), true}}));
  EXPECT_FALSE(bad({{"bid", types::DataType::Struct({{"price", types::Utf8(), false}}), true}}));
  EXPECT_FALSE(bad({{"bid", types::DataType::Struct({{"nope", types::Int64(), false}}), true}}));
}

// The connector generates the columns of the spec it is given, which the planner may narrow.
TEST(NexmarkTest, SourceProducesTheSpecsColumns) {
  std::map<std::string, std::string> options = {{"connector", "nexmark"}, {"events", "300"}};
  auto spec = ResolveTable("nexmark", types::Schema(), false, options);
  ASSERT_TRUE(spec.ok());
  const types::Schema full = nx::NexmarkSchema();
  spec->schema = types::Schema({Narrowed(full.field(2), {"price", "extra"})});
  auto factory = ConnectorRegistry::Get().Find("nexmark")->MakeSource(*spec);
  ASSERT_TRUE(factory.ok()) << factory.status().ToString();
  auto source = (*factory)->CreateSource(0, 1);
  ASSERT_TRUE(source.ok());
  runtime::OperatorContext ctx;
  ASSERT_TRUE((*source)->Open(ctx).ok());
  Collected out;
  for (int polls = 0; polls < 100; ++polls) {
    auto poll = (*source)->Poll(out);
    ASSERT_TRUE(poll.ok());
    if (poll->kind == runtime::SourcePoll::Kind::kFinished) break;
  }
  ASSERT_EQ(out.batches.size(), 1u);
  EXPECT_EQ(out.batches[0]->schema->ToString(), "(bid STRUCT<price BIGINT, extra TEXT>)");
  ExpectMatchesReference(*out.batches[0], 0, 1, nx::GeneratorOptions{});
  // A column the connector does not have.
  spec->schema = types::Schema({{"x", types::Int64(), true}});
  EXPECT_FALSE(ConnectorRegistry::Get().Find("nexmark")->MakeSource(*spec).ok());
}

TEST(NexmarkTest, FiniteRuns) {
  // runtime: the events of the first `runtime` seconds at the nominal rate.
  auto factory = NexmarkFactory({{"runtime", "2"}, {"first_event_rate", "50"}});
  ASSERT_NE(factory, nullptr);
  EXPECT_EQ(RunAll(*factory, 2).size(), 100u);
  auto paced = NexmarkFactory({{"events", "20"}, {"event_rate", "100000"}});
  ASSERT_NE(paced, nullptr);
  EXPECT_EQ(RunAll(*paced, 2).size(), 20u);
  auto none = NexmarkFactory({{"events", "0"}});
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(RunAll(*none, 3).size(), 0u);
}

TEST(NexmarkTest, OptionErrors) {
  auto bad = [](std::map<std::string, std::string> options) {
    options["connector"] = "nexmark";
    auto spec = ResolveTable("n", types::Schema(), false, options);
    return spec.ok() ? std::string("ok") : spec.status().message();
  };
  EXPECT_NE(bad({{"event_rate", "fast"}}).find("event_rate"), std::string::npos);
  EXPECT_NE(bad({{"events", "-3"}}).find("events"), std::string::npos);
  EXPECT_NE(bad({{"first_event_rate", "0"}}).find("first_event_rate"), std::string::npos);
  EXPECT_NE(bad({{"evnets", "3"}}).find("did you mean 'events'"), std::string::npos);
  EXPECT_NE(bad({{"format", "json"}}).find("format"), std::string::npos);
  auto spec =
      ResolveTable("n", types::Schema(), false, {{"connector", "nexmark"}, {"event_rate", "10"}});
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(spec->finite);  // neither events nor runtime: unbounded
}

// Checkpoints: a source snapshotted mid-stream and restored in a new instance goes on with the
// next event of its subtask, so the events before and after the restore are exactly the events
// of an uninterrupted run.

std::shared_ptr<const runtime::OperatorFactory> SmallBatchFactory(
    std::map<std::string, std::string> options, int64_t batch_rows) {
  options["connector"] = "nexmark";
  auto spec = ResolveTable("nexmark", types::Schema(), false, options);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) return nullptr;
  spec->batch_rows = batch_rows;
  auto factory = ConnectorRegistry::Get().Find("nexmark")->MakeSource(*spec);
  EXPECT_TRUE(factory.ok()) << factory.status().ToString();
  return factory.ok() ? *factory : nullptr;
}

// The rows of `batches` in order: kind, key and event time of each.
std::vector<Row> RowsOf(const std::vector<batch::BatchPtr>& batches) {
  std::vector<Row> rows;
  for (const auto& b : batches) {
    for (int64_t i = 0; i < b->num_rows; ++i) {
      Row row{};
      row.event_time = b->event_time->raw<int64_t>()[i];
      for (size_t c = 0; c < 3; ++c) {
        if (b->columns[c]->IsValid(i)) {
          row.kind = static_cast<nx::EventKind>(c);
          row.key = b->columns[c]->children[0]->raw<int64_t>()[i];
        }
      }
      rows.push_back(row);
    }
  }
  return rows;
}

struct Subtask {
  std::unique_ptr<runtime::SourceOperator> source;
  runtime::OperatorContext ctx;
  Collected out;
  bool finished = false;

  Subtask(const runtime::OperatorFactory& factory, int s, int parallelism) {
    auto created = factory.CreateSource(s, parallelism);
    EXPECT_TRUE(created.ok());
    source = std::move(*created);
    ctx.subtask = s;
    ctx.parallelism = parallelism;
    EXPECT_TRUE(source->Open(ctx).ok());
  }
  void Poll(int polls) {
    for (int i = 0; i < polls && !finished; ++i) {
      auto poll = source->Poll(out);
      ASSERT_TRUE(poll.ok());
      finished = poll->kind == runtime::SourcePoll::Kind::kFinished;
    }
  }
};

TEST(NexmarkTest, CheckpointResumesWhereItStopped) {
  for (int parallelism : {1, 3}) {
    for (int polls_before : {0, 1, 5, 1000}) {
      SCOPED_TRACE("parallelism " + std::to_string(parallelism) + ", " +
                   std::to_string(polls_before) + " polls before the checkpoint");
      auto factory = SmallBatchFactory({{"events", "200"}, {"seed", "7"}}, 7);
      ASSERT_NE(factory, nullptr);
      std::vector<runtime::TaskState> states(static_cast<size_t>(parallelism));
      std::vector<std::vector<Row>> before(static_cast<size_t>(parallelism));
      for (int s = 0; s < parallelism; ++s) {
        Subtask first(*factory, s, parallelism);
        first.Poll(polls_before);
        before[static_cast<size_t>(s)] = RowsOf(first.out.batches);
        runtime::StateWriter w(&states[static_cast<size_t>(s)].pieces, 4);
        ASSERT_TRUE(first.source->Snapshot(1, w).ok());
        // Events after the checkpoint are lost with the crash: the restore replays them.
        first.Poll(3);
      }
      std::vector<const runtime::TaskState*> previous;
      for (const auto& st : states) previous.push_back(&st);
      size_t total = 0;
      for (int s = 0; s < parallelism; ++s) {
        Subtask uninterrupted(*factory, s, parallelism);
        uninterrupted.Poll(100000);
        ASSERT_TRUE(uninterrupted.finished);
        Subtask resumed(*factory, s, parallelism);
        runtime::StateReader r(1, 4, s, previous);
        ASSERT_TRUE(resumed.source->Restore(r).ok());
        resumed.Poll(100000);
        ASSERT_TRUE(resumed.finished);
        std::vector<Row> rows = before[static_cast<size_t>(s)];
        for (const Row& row : RowsOf(resumed.out.batches)) rows.push_back(row);
        std::vector<Row> expected = RowsOf(uninterrupted.out.batches);
        EXPECT_EQ(rows.size(), expected.size());
        EXPECT_TRUE(rows == expected) << "subtask " << s;
        total += rows.size();
      }
      EXPECT_EQ(total, 200u);
    }
  }
}

TEST(NexmarkTest, CheckpointAtAnotherParallelismIsRefused) {
  auto factory = SmallBatchFactory({{"events", "100"}}, 10);
  ASSERT_NE(factory, nullptr);
  std::vector<runtime::TaskState> states(2);
  for (int s = 0; s < 2; ++s) {
    Subtask t(*factory, s, 2);
    t.Poll(2);
    runtime::StateWriter w(&states[static_cast<size_t>(s)].pieces, 0);
    ASSERT_TRUE(t.source->Snapshot(3, w).ok());
  }
  std::vector<const runtime::TaskState*> previous{&states[0], &states[1]};
  Subtask resumed(*factory, 0, 3);
  runtime::StateReader r(3, 0, 0, previous);
  Status st = resumed.source->Restore(r);
  EXPECT_EQ(st.kind(), ErrorKind::kNotSupported);
  EXPECT_NE(st.message().find("checkpoint 3 was taken at parallelism 2; resuming a nexmark "
                              "source at another parallelism (3) is not supported yet"),
            std::string::npos)
      << st.message();
  // A damaged position is refused, not trusted.
  runtime::TaskState bad;
  bad.pieces.push_back({"0/position", runtime::StatePiece::Kind::kBytes, std::string("\x01", 1)});
  std::vector<const runtime::TaskState*> truncated{&bad};
  Subtask one(*factory, 0, 1);
  runtime::StateReader r1(3, 0, 0, truncated);
  EXPECT_FALSE(one.source->Restore(r1).ok());
}

// A paced source (event_rate) goes on at its rate from the restored position, instead of
// waiting until the time of that position since a new start.
TEST(NexmarkTest, PacedSourceResumesAtItsRate) {
  auto factory = SmallBatchFactory({{"events", "1000000"}, {"event_rate", "1000"}}, 100);
  ASSERT_NE(factory, nullptr);
  runtime::TaskState state;
  {
    Subtask t(*factory, 0, 1);
    runtime::StateWriter w(&state.pieces, 0);
    ASSERT_TRUE(t.source->Snapshot(1, w).ok());
  }
  // A position 500000 events (500 s at 1000 events/s) into the stream.
  state.pieces.clear();
  std::string bytes;
  batch::ByteWriter bw(&bytes);
  bw.Put<uint8_t>(1);
  bw.Put<uint64_t>(1);
  bw.Put<uint64_t>(0);
  bw.Put<uint64_t>(500000);
  state.pieces.push_back({"0/position", runtime::StatePiece::Kind::kBytes, bytes});
  std::vector<const runtime::TaskState*> previous{&state};
  Subtask resumed(*factory, 0, 1);
  runtime::StateReader r(1, 0, 0, previous);
  ASSERT_TRUE(resumed.source->Restore(r).ok());
  auto poll = resumed.source->Poll(resumed.out);
  ASSERT_TRUE(poll.ok());
  ASSERT_EQ(resumed.out.batches.size(), 1u);  // the next event is due at once
  EXPECT_EQ(resumed.out.batches[0]->num_rows, 1);
  std::vector<Row> rows = RowsOf(resumed.out.batches);
  EXPECT_EQ(rows[0].event_time, nx::TimestampOf(500000, nx::GeneratorOptions{1000, 0}));
  ASSERT_EQ(poll->kind, runtime::SourcePoll::Kind::kWaitUntil);
  EXPECT_LT(poll->wake_at.value - Now().value, 10000);  // the next one within 1 ms (+ slack)
}

}  // namespace
}  // namespace sluice::connectors
