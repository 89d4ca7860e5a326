// nexmark: the Nexmark benchmark's event stream (see nexmark.h and docs/connectors.md).
//
// Each event is generated from its event id alone: a java.util.Random-compatible generator is
// seeded with the id (as in Beam's NexmarkGenerator) and the reference's draws are made in the
// reference's order. Subtask s of P generates the ids s, s+P, s+2P, ..., so the union over the
// subtasks is the same set of events at any parallelism.

#include "connectors/nexmark.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "common/text.h"
#include "connectors/connector.h"
#include "connectors/source_batch.h"

namespace sluice::connectors {

namespace nexmark {

namespace {

// Reference configuration defaults (NexmarkConfiguration).
constexpr int32_t kHotAuctionRatio = 2;  // P(hot auction) = 1 - 1/2
constexpr int32_t kHotSellersRatio = 4;  // P(hot seller) = 1 - 1/4
constexpr int32_t kHotBiddersRatio = 4;  // P(hot bidder) = 1 - 1/4
constexpr int64_t kNumInFlightAuctions = 100;
constexpr int64_t kNumActivePeople = 1000;
constexpr int kAvgPersonBytes = 200;
constexpr int kAvgAuctionBytes = 500;
constexpr int kAvgBidBytes = 100;
// Generator constants.
constexpr int64_t kHotBatch = 100;  // HOT_SELLER_RATIO, HOT_AUCTION_RATIO, HOT_BIDDER_RATIO
constexpr int64_t kPersonIdLead = 10;
constexpr int64_t kAuctionIdLead = 10;
constexpr int32_t kNumCategories = 5;
constexpr int32_t kMinStringLength = 3;
constexpr int32_t kHotChannelsRatio = 2;
constexpr int32_t kChannelsNumber = 10000;

constexpr std::array<const char*, 6> kStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<const char*, 10> kCities = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::array<const char*, 11> kFirstNames = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<const char*, 9> kLastNames = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
constexpr std::array<const char*, 4> kHotChannels = {"Google", "Facebook", "Baidu", "Apple"};
// The reference draws these once per process at random; fixed here so runs are reproducible.
constexpr std::array<const char*, 4> kHotUrls = {
    "https://www.nexmark.com/abo/eoci/cidro/item.htm?query=1",
    "https://www.nexmark.com/eoax/oad/cidro/item.htm?query=1",
    "https://www.nexmark.com/abo/jack/cidro/item.htm?query=1",
    "https://www.nexmark.com/abo/micah/cidro/item.htm?query=1"};

// The 48-bit linear congruential generator of java.util.Random, so that a seed gives the
// reference's sequence of draws.
class JavaRandom {
 public:
  explicit JavaRandom(uint64_t seed) : state_((seed ^ kMultiplier) & kMask) {}

  int32_t NextInt() { return Next(32); }
  // Uniform in [0, bound), bound > 0.
  int32_t NextInt(int32_t bound) {
    int32_t r = Next(31);
    const int32_t m = bound - 1;
    if ((bound & m) == 0) return static_cast<int32_t>((static_cast<int64_t>(bound) * r) >> 31);
    for (int32_t u = r;; u = Next(31)) {
      r = u % bound;
      // Java rejects when u - r + m overflows int.
      if (static_cast<int64_t>(u) - r + m <= std::numeric_limits<int32_t>::max()) break;
    }
    return r;
  }
  int64_t NextLong() {
    const int64_t hi = Next(32);
    const int64_t lo = Next(32);
    return static_cast<int64_t>(static_cast<uint64_t>(hi) << 32) + lo;
  }
  double NextDouble() {
    const int64_t hi = Next(26);
    const int64_t lo = Next(27);
    return static_cast<double>((hi << 27) + lo) * 0x1.0p-53;
  }
  // LongGenerator.nextLong: uniform in [0, n).
  int64_t NextLong(int64_t n) {
    if (n < std::numeric_limits<int32_t>::max()) return NextInt(static_cast<int32_t>(n));
    int64_t v = NextLong() % n;
    return v < 0 ? -v : v;
  }

 private:
  static constexpr uint64_t kMultiplier = 0x5DEECE66DULL;
  static constexpr uint64_t kMask = (1ULL << 48) - 1;
  int32_t Next(int bits) {
    state_ = (state_ * kMultiplier + 0xBULL) & kMask;
    return static_cast<int32_t>(static_cast<uint32_t>(state_ >> (48 - bits)));
  }
  uint64_t state_;
};

uint64_t MixSeed(uint64_t value, uint64_t seed) {
  return seed == 0 ? value : value ^ (seed * 0x9E3779B97F4A7C15ULL);
}

// StringsGenerator.nextString: 3..maxLength-1 characters, letters with ~1/13 spaces, trimmed.
std::string NextString(JavaRandom& random, int32_t max_length) {
  int32_t len = kMinStringLength + random.NextInt(max_length - kMinStringLength);
  std::string s;
  s.reserve(static_cast<size_t>(len));
  while (len-- > 0) {
    if (random.NextInt(13) == 0) {
      s.push_back(' ');
    } else {
      s.push_back(static_cast<char>('a' + random.NextInt(26)));
    }
  }
  size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

// StringsGenerator.nextExactString. As in the reference, a negative draw gives characters
// just below 'a' (Java's remainder keeps the sign).
std::string NextExactString(JavaRandom& random, int32_t length) {
  std::string s;
  s.reserve(static_cast<size_t>(std::max(length, 0)));
  int32_t rnd = 0;
  int n = 0;
  while (length-- > 0) {
    if (n == 0) {
      rnd = random.NextInt();
      n = 6;
    }
    s.push_back(static_cast<char>('a' + rnd % 26));
    rnd /= 26;
    --n;
  }
  return s;
}

// StringsGenerator.nextExtra: pads an event to `average` bytes on average (±20%).
std::string NextExtra(JavaRandom& random, int64_t current_size, int average) {
  if (current_size > average) return "";
  int32_t desired = average - static_cast<int32_t>(current_size);
  int32_t delta = static_cast<int32_t>(std::floor(desired * 0.2 + 0.5));  // Math.round
  int32_t min_size = desired - delta;
  int32_t size = min_size + (delta == 0 ? 0 : random.NextInt(2 * delta));
  return NextExactString(random, size);
}

// PriceGenerator.nextPrice: log-uniform cents in [100, 1e8].
int64_t NextPrice(JavaRandom& random) {
  return static_cast<int64_t>(std::floor(std::pow(10.0, random.NextDouble() * 6.0) * 100.0 + 0.5));
}

int64_t LastBase0PersonId(int64_t event_id) {
  int64_t epoch = event_id / kTotalProportion;
  int64_t offset = event_id % kTotalProportion;
  if (offset >= kPersonProportion) offset = kPersonProportion - 1;
  return epoch * kPersonProportion + offset;
}

int64_t LastBase0AuctionId(int64_t event_id) {
  int64_t epoch = event_id / kTotalProportion;
  int64_t offset = event_id % kTotalProportion;
  if (offset < kPersonProportion) {
    --epoch;
    offset = kAuctionProportion - 1;
  } else if (offset >= kPersonProportion + kAuctionProportion) {
    offset = kAuctionProportion - 1;
  } else {
    offset -= kPersonProportion;
  }
  return epoch * kAuctionProportion + offset;
}

// A person among the active ones, or up to kPersonIdLead not yet generated.
int64_t NextBase0PersonId(int64_t event_id, JavaRandom& random) {
  int64_t num_people = LastBase0PersonId(event_id) + 1;
  int64_t active = std::min(num_people, kNumActivePeople);
  int64_t n = random.NextLong(active + kPersonIdLead);
  return num_people - active + n;
}

// An auction likely still in flight, or up to kAuctionIdLead not yet generated.
int64_t NextBase0AuctionId(int64_t event_id, JavaRandom& random) {
  int64_t max_auction = LastBase0AuctionId(event_id);
  int64_t min_auction = std::max<int64_t>(max_auction - kNumInFlightAuctions, 0);
  return min_auction + random.NextLong(max_auction - min_auction + 1 + kAuctionIdLead);
}

int64_t TimestampMillis(int64_t event_id, const GeneratorOptions& options) {
  double delay_us = 1e6 / options.nominal_rate;
  return kBaseTimeMillis + static_cast<int64_t>(static_cast<double>(event_id) * delay_us) / 1000;
}

std::string CreditCard(JavaRandom& random) {
  std::string s;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) s.push_back(' ');
    s += fmt::format("{:04d}", random.NextInt(10000));
  }
  return s;
}

Person MakePerson(int64_t event_id, int64_t ts_ms, JavaRandom& random) {
  Person p;
  p.id = LastBase0PersonId(event_id) + kFirstPersonId;
  p.name = std::string(kFirstNames[static_cast<size_t>(random.NextInt(kFirstNames.size()))]) + " " +
           kLastNames[static_cast<size_t>(random.NextInt(kLastNames.size()))];
  p.email_address = NextString(random, 7);
  p.email_address += "@";
  p.email_address += NextString(random, 5);
  p.email_address += ".com";
  p.credit_card = CreditCard(random);
  p.city = kCities[static_cast<size_t>(random.NextInt(kCities.size()))];
  p.state = kStates[static_cast<size_t>(random.NextInt(kStates.size()))];
  int64_t size = 8 + static_cast<int64_t>(p.name.size() + p.email_address.size() +
                                          p.credit_card.size() + p.city.size() + p.state.size());
  p.extra = NextExtra(random, size, kAvgPersonBytes);
  p.datetime = ts_ms * 1000;
  return p;
}

Auction MakeAuction(int64_t event_id, int64_t ts_ms, const GeneratorOptions& options,
                    JavaRandom& random) {
  Auction a;
  a.id = LastBase0AuctionId(event_id) + kFirstAuctionId;
  int64_t seller;
  if (random.NextInt(kHotSellersRatio) > 0) {
    seller = (LastBase0PersonId(event_id) / kHotBatch) * kHotBatch;  // first of the last 100
  } else {
    seller = NextBase0PersonId(event_id, random);
  }
  a.seller = seller + kFirstPersonId;
  a.category = kFirstCategoryId + random.NextInt(kNumCategories);
  a.initial_bid = NextPrice(random);
  // Auction length: uniform with mean the time until kNumInFlightAuctions more auctions exist.
  int64_t events_for_auctions = (kNumInFlightAuctions * kTotalProportion) / kAuctionProportion;
  int64_t horizon_ms = TimestampMillis(event_id + events_for_auctions, options) - ts_ms;
  int64_t length_ms = 1 + random.NextLong(std::max<int64_t>(horizon_ms * 2, 1));
  a.item_name = NextString(random, 20);
  a.description = NextString(random, 100);
  a.reserve = a.initial_bid + NextPrice(random);
  int64_t size = 8 + static_cast<int64_t>(a.item_name.size() + a.description.size()) + 40;
  a.extra = NextExtra(random, size, kAvgAuctionBytes);
  a.datetime = ts_ms * 1000;
  a.expires = (ts_ms + length_ms) * 1000;
  return a;
}

// Channel n's name and url: a pure function of n (the reference caches a random one per n).
struct ChannelUrl {
  std::string channel, url;
};

const std::vector<ChannelUrl>& ChannelUrls() {
  static const std::vector<ChannelUrl> table = [] {
    std::vector<ChannelUrl> t(kChannelsNumber);
    for (int32_t n = 0; n < kChannelsNumber; ++n) {
      JavaRandom random(static_cast<uint64_t>(n));
      std::string url = "https://www.nexmark.com/";
      for (int part = 0; part < 3; ++part) {
        std::string s = NextString(random, 5);
        std::replace(s.begin(), s.end(), ' ', '_');
        url += s;
        url += '/';
      }
      url += "item.htm?query=1";
      if (random.NextInt(10) > 0) {
        // Math.abs(Integer.reverse(n)); abs(INT_MIN) stays INT_MIN in Java.
        uint32_t v = static_cast<uint32_t>(n), r = 0;
        for (int i = 0; i < 32; ++i) r = (r << 1) | ((v >> i) & 1);
        int64_t id = static_cast<int32_t>(r);
        if (id < 0 && id != std::numeric_limits<int32_t>::min()) id = -id;
        url += fmt::format("&channel_id={}", id);
      }
      t[static_cast<size_t>(n)] = {fmt::format("channel-{}", n), std::move(url)};
    }
    return t;
  }();
  return table;
}

Bid MakeBid(int64_t event_id, int64_t ts_ms, JavaRandom& random) {
  Bid b;
  int64_t auction;
  if (random.NextInt(kHotAuctionRatio) > 0) {
    auction = (LastBase0AuctionId(event_id) / kHotBatch) * kHotBatch;
  } else {
    auction = NextBase0AuctionId(event_id, random);
  }
  b.auction = auction + kFirstAuctionId;
  int64_t bidder;
  if (random.NextInt(kHotBiddersRatio) > 0) {
    // The second person of the last batch of 100, so hot bidders and hot sellers differ.
    bidder = (LastBase0PersonId(event_id) / kHotBatch) * kHotBatch + 1;
  } else {
    bidder = NextBase0PersonId(event_id, random);
  }
  b.bidder = bidder + kFirstPersonId;
  b.price = NextPrice(random);
  if (random.NextInt(kHotChannelsRatio) > 0) {
    auto i = static_cast<size_t>(random.NextInt(kHotChannels.size()));
    b.channel = kHotChannels[i];
    b.url = kHotUrls[i];
  } else {
    const ChannelUrl& c = ChannelUrls()[static_cast<size_t>(random.NextInt(kChannelsNumber))];
    b.channel = c.channel;
    b.url = c.url;
  }
  b.extra = NextExtra(random, 32, kAvgBidBytes);
  b.datetime = ts_ms * 1000;
  return b;
}

}  // namespace

EventKind KindOf(uint64_t event_id) {
  int64_t rem = static_cast<int64_t>(event_id % kTotalProportion);
  if (rem < kPersonProportion) return EventKind::kPerson;
  if (rem < kPersonProportion + kAuctionProportion) return EventKind::kAuction;
  return EventKind::kBid;
}

int64_t TimestampOf(uint64_t event_id, const GeneratorOptions& options) {
  return TimestampMillis(static_cast<int64_t>(event_id), options) * 1000;
}

int64_t LastPersonId(uint64_t event_id) {
  return LastBase0PersonId(static_cast<int64_t>(event_id)) + kFirstPersonId;
}

int64_t LastAuctionId(uint64_t event_id) {
  return LastBase0AuctionId(static_cast<int64_t>(event_id)) + kFirstAuctionId;
}

Event Generate(uint64_t event_id, const GeneratorOptions& options) {
  Event e;
  const auto id = static_cast<int64_t>(event_id);
  const int64_t ts_ms = TimestampMillis(id, options);
  e.timestamp = ts_ms * 1000;
  e.kind = KindOf(event_id);
  JavaRandom random(MixSeed(event_id, options.seed));
  switch (e.kind) {
    case EventKind::kPerson:
      e.person = MakePerson(id, ts_ms, random);
      break;
    case EventKind::kAuction:
      e.auction = MakeAuction(id, ts_ms, options, random);
      break;
    case EventKind::kBid:
      e.bid = MakeBid(id, ts_ms, random);
      break;
  }
  return e;
}

types::Schema NexmarkSchema() {
  using types::Int64;
  using types::Timestamp;
  using types::Utf8;
  // Field names as Arroyo's nexmark connector exposes them (`datetime`).
  auto person = types::DataType::Struct({{"id", Int64(), false},
                                         {"name", Utf8(), false},
                                         {"email_address", Utf8(), false},
                                         {"credit_card", Utf8(), false},
                                         {"city", Utf8(), false},
                                         {"state", Utf8(), false},
                                         {"datetime", Timestamp(), false},
                                         {"extra", Utf8(), false}});
  auto auction = types::DataType::Struct({{"id", Int64(), false},
                                          {"item_name", Utf8(), false},
                                          {"description", Utf8(), false},
                                          {"initial_bid", Int64(), false},
                                          {"reserve", Int64(), false},
                                          {"datetime", Timestamp(), false},
                                          {"expires", Timestamp(), false},
                                          {"seller", Int64(), false},
                                          {"category", Int64(), false},
                                          {"extra", Utf8(), false}});
  auto bid = types::DataType::Struct({{"auction", Int64(), false},
                                      {"bidder", Int64(), false},
                                      {"price", Int64(), false},
                                      {"channel", Utf8(), false},
                                      {"url", Utf8(), false},
                                      {"datetime", Timestamp(), false},
                                      {"extra", Utf8(), false}});
  return types::Schema({{"person", person, true}, {"auction", auction, true}, {"bid", bid, true}});
}

batch::BatchPtr GenerateBatch(uint64_t first_id, uint64_t stride, int64_t n,
                              const GeneratorOptions& options, const types::SchemaPtr& schema) {
  batch::ColumnBuilder persons(schema->field(0).type);
  batch::ColumnBuilder auctions(schema->field(1).type);
  batch::ColumnBuilder bids(schema->field(2).type);
  auto times = batch::Column::MakeFixed(types::Timestamp(), n);
  auto* ts = times->mutable_raw<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t id = first_id + static_cast<uint64_t>(i) * stride;
    Event e = Generate(id, options);
    ts[i] = e.timestamp;
    if (e.kind == EventKind::kPerson) {
      const Person& p = e.person;
      persons.field_builder(0)->AppendFixed<int64_t>(p.id);
      persons.field_builder(1)->AppendString(p.name);
      persons.field_builder(2)->AppendString(p.email_address);
      persons.field_builder(3)->AppendString(p.credit_card);
      persons.field_builder(4)->AppendString(p.city);
      persons.field_builder(5)->AppendString(p.state);
      persons.field_builder(6)->AppendFixed<int64_t>(p.datetime);
      persons.field_builder(7)->AppendString(p.extra);
      persons.FinishStructRow();
    } else {
      persons.AppendNull();
    }
    if (e.kind == EventKind::kAuction) {
      const Auction& a = e.auction;
      auctions.field_builder(0)->AppendFixed<int64_t>(a.id);
      auctions.field_builder(1)->AppendString(a.item_name);
      auctions.field_builder(2)->AppendString(a.description);
      auctions.field_builder(3)->AppendFixed<int64_t>(a.initial_bid);
      auctions.field_builder(4)->AppendFixed<int64_t>(a.reserve);
      auctions.field_builder(5)->AppendFixed<int64_t>(a.datetime);
      auctions.field_builder(6)->AppendFixed<int64_t>(a.expires);
      auctions.field_builder(7)->AppendFixed<int64_t>(a.seller);
      auctions.field_builder(8)->AppendFixed<int64_t>(a.category);
      auctions.field_builder(9)->AppendString(a.extra);
      auctions.FinishStructRow();
    } else {
      auctions.AppendNull();
    }
    if (e.kind == EventKind::kBid) {
      const Bid& b = e.bid;
      bids.field_builder(0)->AppendFixed<int64_t>(b.auction);
      bids.field_builder(1)->AppendFixed<int64_t>(b.bidder);
      bids.field_builder(2)->AppendFixed<int64_t>(b.price);
      bids.field_builder(3)->AppendString(b.channel);
      bids.field_builder(4)->AppendString(b.url);
      bids.field_builder(5)->AppendFixed<int64_t>(b.datetime);
      bids.field_builder(6)->AppendString(b.extra);
      bids.FinishStructRow();
    } else {
      bids.AppendNull();
    }
  }
  auto out = std::make_shared<batch::Batch>();
  out->schema = schema;
  out->columns = {persons.Finish(), auctions.Finish(), bids.Finish()};
  out->event_time = times;
  out->num_rows = n;
  return out;
}

}  // namespace nexmark

namespace {

struct NexmarkOptions {
  double event_rate = 0;                // emission pace, events/s over all subtasks; 0 = max
  std::optional<uint64_t> events;       // total events (after `runtime` is applied)
  std::optional<double> runtime;        // seconds of event time
  nexmark::GeneratorOptions generator;  // nominal rate (timestamps) and seed
  int64_t batch_rows = kDefaultBatchRows;
};

std::optional<uint64_t> ParseUnsigned(const std::string& raw) {
  std::string text = std::string(TrimAsciiSpace(raw));
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseNumber(const std::string& raw) {
  const std::string text = std::string(TrimAsciiSpace(raw));
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

Result<NexmarkOptions> ParseOptions(const std::map<std::string, std::string>& options) {
  NexmarkOptions out;
  if (auto it = options.find("event_rate"); it != options.end()) {
    auto v = ParseNumber(it->second);
    if (!v || *v < 0) {
      return Status::User(
          "invalid value '{}' for option 'event_rate'; use a non-negative number of events per "
          "second (0: as fast as possible)",
          it->second);
    }
    out.event_rate = *v;
  }
  out.generator.nominal_rate = out.event_rate > 0 ? out.event_rate : nexmark::kDefaultNominalRate;
  if (auto it = options.find("first_event_rate"); it != options.end()) {
    auto v = ParseNumber(it->second);
    if (!v || *v <= 0) {
      return Status::User(
          "invalid value '{}' for option 'first_event_rate'; use a positive number of events "
          "per second",
          it->second);
    }
    out.generator.nominal_rate = *v;
  }
  if (auto it = options.find("events"); it != options.end()) {
    out.events = ParseUnsigned(it->second);
    if (!out.events) {
      return Status::User("invalid value '{}' for option 'events'; use a non-negative integer",
                          it->second);
    }
  }
  if (auto it = options.find("runtime"); it != options.end()) {
    auto v = ParseNumber(it->second);
    if (!v || *v < 0) {
      return Status::User("invalid value '{}' for option 'runtime'; use a number of seconds",
                          it->second);
    }
    out.runtime = *v;
    // The events whose timestamps fall within the first `runtime` seconds (as Arroyo:
    // rate × runtime events).
    auto n = static_cast<uint64_t>(std::floor(out.generator.nominal_rate * *v));
    out.events = out.events ? std::min(*out.events, n) : n;
  }
  if (auto it = options.find("seed"); it != options.end()) {
    auto v = ParseUnsigned(it->second);
    if (!v) {
      return Status::User("invalid value '{}' for option 'seed'; use a non-negative integer",
                          it->second);
    }
    out.generator.seed = *v;
  }
  return out;
}

class NexmarkSource : public runtime::SourceOperator {
 public:
  NexmarkSource(const NexmarkOptions& options, int subtask, int parallelism)
      : options_(options),
        schema_(std::make_shared<const types::Schema>(nexmark::NexmarkSchema())),
        subtask_(static_cast<uint64_t>(subtask)),
        parallelism_(static_cast<uint64_t>(std::max(parallelism, 1))) {
    if (options.events) total_ = CountBelow(*options.events);
  }

  Result<runtime::SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) {
      return runtime::SourcePoll::Finished();
    }
    if (emitted_ >= total_) return runtime::SourcePoll::Finished();
    uint64_t due = total_;
    if (options_.event_rate > 0) {
      const ProcessingTime now = Now();
      if (!started_) {
        start_ = now;
        started_ = true;
      }
      // Global event e is due e / rate seconds after the start.
      double elapsed = static_cast<double>(now.value - start_.value) / 1e6;
      double global = std::floor(options_.event_rate * elapsed) + 1;
      due = global >= 1e19 ? total_ : std::min(total_, CountBelow(static_cast<uint64_t>(global)));
      if (due <= emitted_) return runtime::SourcePoll::WaitUntil(NextDue());
    }
    auto n = static_cast<int64_t>(
        std::min<uint64_t>(due - emitted_, static_cast<uint64_t>(options_.batch_rows)));
    SLUICE_RETURN_NOT_OK(out.Emit(nexmark::GenerateBatch(
        subtask_ + emitted_ * parallelism_, parallelism_, n, options_.generator, schema_)));
    emitted_ += static_cast<uint64_t>(n);
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
    if (emitted_ >= total_) return runtime::SourcePoll::Finished();
    if (due > emitted_) return runtime::SourcePoll::More();
    return runtime::SourcePoll::WaitUntil(NextDue());
  }

 private:
  // How many of this subtask's event ids are below `n`.
  uint64_t CountBelow(uint64_t n) const {
    return n > subtask_ ? (n - subtask_ + parallelism_ - 1) / parallelism_ : 0;
  }
  ProcessingTime NextDue() const {
    double id = static_cast<double>(subtask_ + emitted_ * parallelism_);
    double offset = std::ceil(id * 1e6 / options_.event_rate) + 1;
    if (offset > 1e17) offset = 1e17;
    return ProcessingTime{start_.value + static_cast<int64_t>(offset)};
  }

  NexmarkOptions options_;
  types::SchemaPtr schema_;
  uint64_t subtask_;
  uint64_t parallelism_;
  uint64_t total_ = std::numeric_limits<uint64_t>::max();
  uint64_t emitted_ = 0;
  bool started_ = false;
  ProcessingTime start_;
};

class NexmarkSourceFactory : public runtime::OperatorFactory {
 public:
  explicit NexmarkSourceFactory(NexmarkOptions options) : options_(options) {}
  std::string name() const override { return "nexmark source"; }
  std::string Describe() const override {
    std::string s = fmt::format("nexmark source event_rate={} first_event_rate={}",
                                options_.event_rate, options_.generator.nominal_rate);
    if (options_.events) s += fmt::format(" events={}", *options_.events);
    if (options_.generator.seed != 0) s += fmt::format(" seed={}", options_.generator.seed);
    return s;
  }
  bool is_source() const override { return true; }
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    return std::unique_ptr<runtime::SourceOperator>(
        std::make_unique<NexmarkSource>(options_, subtask, parallelism));
  }

 private:
  NexmarkOptions options_;
};

class NexmarkConnector : public Connector {
 public:
  std::string name() const override { return "nexmark"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return false; }
  std::optional<types::Schema> fixed_schema() const override { return nexmark::NexmarkSchema(); }
  std::vector<std::string> option_keys() const override {
    return {"event_rate", "first_event_rate", "events", "runtime", "seed"};
  }

  Status Validate(TableSpec* spec) const override {
    SLUICE_RETURN_NOT_OK(ValidateGeneratedColumns("nexmark", nexmark::NexmarkSchema(), spec));
    SLUICE_ASSIGN_OR_RETURN(NexmarkOptions options, ParseOptions(spec->options));
    spec->finite = options.events.has_value();
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    SLUICE_ASSIGN_OR_RETURN(NexmarkOptions options, ParseOptions(spec.options));
    options.batch_rows = spec.batch_rows;
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<NexmarkSourceFactory>(options));
  }
};

}  // namespace

std::unique_ptr<Connector> MakeNexmarkConnector() {
  return std::make_unique<NexmarkConnector>();
}

}  // namespace sluice::connectors
