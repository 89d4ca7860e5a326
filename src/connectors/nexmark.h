#pragma once
// The Nexmark benchmark generator (persons, auctions and bids of a simulated auction site),
// following the reference generator (github.com/nexmark/nexmark, after Apache Beam's): the same
// 1:3:46 interleaving of event kinds by event id, id arithmetic, hot seller/auction/bidder skew,
// price distribution, string lists and sizes. Every event is a pure function of its event id
// (and the options), so any subtask can generate any event.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "batch/batch.h"
#include "common/status.h"
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

// One event, generated on its own: the readable reference implementation (strings per event).
Event Generate(uint64_t event_id, const GeneratorOptions& options);

// The table's columns: person, auction, bid (structs; exactly one non-NULL per row).
types::Schema NexmarkSchema();

// Generates batches column by column, straight into the columns' buffers (the same values as
// Generate(), which is the per-event reference implementation).
//
// `schema` is NexmarkSchema() or a narrowing of it: any subset of the columns person, auction,
// bid, each struct with any subset of its fields (matched by name and type, in any order), as a
// source pruned to what a query reads. Events of a kind whose column is absent are not
// generated at all; an absent string field is not written (its random draws are still made
// when later fields depend on them, so the remaining values do not change).
class BatchGenerator {
 public:
  static Result<BatchGenerator> Make(const types::SchemaPtr& schema,
                                     const GeneratorOptions& options);

  // Rows for the events first_id, first_id + stride, ... (n of them), event time filled.
  batch::BatchPtr Generate(uint64_t first_id, uint64_t stride, int64_t n) const;
  const types::SchemaPtr& schema() const { return schema_; }

  // Which of a struct's fields (by index in NexmarkSchema()) are produced, and where.
  struct StructLayout {
    int column = -1;            // output column, -1 when absent
    std::vector<int> fields;    // output field order: indexes into the full struct's fields
    std::array<bool, 10> on{};  // by full field index
  };

 private:
  BatchGenerator() = default;

  types::SchemaPtr schema_;
  GeneratorOptions options_;
  std::array<StructLayout, 3> layout_;  // person, auction, bid
};

// Rows for the events first_id, first_id + stride, ... (n of them), event time filled.
// `schema` as for BatchGenerator (it must be a valid narrowing of NexmarkSchema()).
batch::BatchPtr GenerateBatch(uint64_t first_id, uint64_t stride, int64_t n,
                              const GeneratorOptions& options, const types::SchemaPtr& schema);

}  // namespace sluice::connectors::nexmark
