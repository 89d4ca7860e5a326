#pragma once
// The Nexmark benchmark generator (persons, auctions and bids of a simulated auction site),
// following the reference generator (github.com/nexmark/nexmark, after Apache Beam's): the same
// 1:3:46 interleaving of event kinds by event id, id arithmetic, hot seller/auction/bidder skew,
// price distribution, string lists and sizes. Every event is a pure function of its event id
// (and the options), so any subtask can generate any event.

#include <cstdint>
#include <string>

#include "batch/batch.h"
#include "types/schema.h"

namespace sluice::connectors::nexmark {

// Reference constants.
constexpr int64_t kFirstPersonId = 1000;
constexpr int64_t kFirstAuctionId = 1000;
constexpr int64_t kFirstCategoryId = 10;
constexpr int64_t kPersonProportion = 1;
constexpr int64_t kAuctionProportion = 3;
constexpr int64_t kBidProportion = 46;
constexpr int64_t kTotalProportion = kPersonProportion + kAuctionProportion + kBidProportion;
// 2015-07-15T00:00:00Z, the reference's fixed base time, in milliseconds.
constexpr int64_t kBaseTimeMillis = 1436918400000LL;
// The reference's default event rate (events per second), used for timestamps when neither
// first_event_rate nor event_rate is given.
constexpr double kDefaultNominalRate = 10000;

struct GeneratorOptions {
  double nominal_rate = kDefaultNominalRate;  // events/s that event timestamps are spaced by
  uint64_t seed = 0;                          // 0: the reference's per-event seeding
};

struct Person {
  int64_t id = 0;
  std::string name, email_address, credit_card, city, state;
  int64_t datetime = 0;  // µs since the epoch
  std::string extra;
};

struct Auction {
  int64_t id = 0;
  std::string item_name, description;
  int64_t initial_bid = 0, reserve = 0;
  int64_t datetime = 0, expires = 0;  // µs
  int64_t seller = 0, category = 0;
  std::string extra;
};

struct Bid {
  int64_t auction = 0, bidder = 0, price = 0;
  std::string channel, url;
  int64_t datetime = 0;  // µs
  std::string extra;
};

enum class EventKind { kPerson, kAuction, kBid };

struct Event {
  EventKind kind = EventKind::kBid;
  int64_t timestamp = 0;  // µs since the epoch; also the row's event time
  Person person;          // set when kind == kPerson
  Auction auction;        // kAuction
  Bid bid;                // kBid
};

EventKind KindOf(uint64_t event_id);
// Event time of an event: base + floor(event_id × 1e6 / rate) µs, truncated to milliseconds as
// the reference does.
int64_t TimestampOf(uint64_t event_id, const GeneratorOptions& options);
// The id of the last person / auction generated at or before `event_id` (with the first-id
// offsets added). The last auction before event 0 is kFirstAuctionId - 1.
int64_t LastPersonId(uint64_t event_id);
int64_t LastAuctionId(uint64_t event_id);

Event Generate(uint64_t event_id, const GeneratorOptions& options);

// The table's columns: person, auction, bid (structs; exactly one non-NULL per row).
types::Schema NexmarkSchema();

// Rows for the events first_id, first_id + stride, ... (n of them), event time filled.
batch::BatchPtr GenerateBatch(uint64_t first_id, uint64_t stride, int64_t n,
                              const GeneratorOptions& options, const types::SchemaPtr& schema);

}  // namespace sluice::connectors::nexmark
