// The nexmark source: proportions, deterministic ids and timestamps at any parallelism,
// references within the generated ranges, finite runs.

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/connector.h"
#include "connectors/nexmark.h"

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

}  // namespace
}  // namespace sluice::connectors
