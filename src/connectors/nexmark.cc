// nexmark: the Nexmark benchmark's event stream (see nexmark.h and docs/connectors.md).
//
// Each event is generated from its event id alone: a java.util.Random-compatible generator is
// seeded with the id (as in Beam's NexmarkGenerator) and the reference's draws are made in the
// reference's order. Subtask s of P generates the ids s, s+P, s+2P, ..., so the union over the
// subtasks is the same set of events at any parallelism.

#include "connectors/nexmark.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "batch/column.h"
#include "batch/serialize.h"
#include "common/check.h"

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
  // Two NextInt() draws, computed side by side (the second state jumps two steps ahead).
  void NextInt2(int32_t* a, int32_t* b) {
    const uint64_t s = state_;
    const uint64_t s1 = (s * kMultiplier + kIncrement) & kMask;
    const uint64_t s2 = (s * kMultiplier2 + kIncrement2) & kMask;
    state_ = s2;
    *a = static_cast<int32_t>(static_cast<uint32_t>(s1 >> 16));
    *b = static_cast<int32_t>(static_cast<uint32_t>(s2 >> 16));
  }
  // One character of StringsGenerator.nextString: NextInt(13) == 0 ? ' ' : 'a' + NextInt(26).
  // Both draws are computed from the current state side by side; the one the character needs
  // decides the next state.
  char NextStringChar() {
    const uint64_t s1 = (state_ * kMultiplier + kIncrement) & kMask;
    const uint64_t s2 = (state_ * kMultiplier2 + kIncrement2) & kMask;
    const auto u1 = static_cast<int32_t>(s1 >> 17);  // Next(31)
    const auto u2 = static_cast<int32_t>(s2 >> 17);
    if (u1 >= kUnbiased13 || u2 >= kUnbiased26) [[unlikely]] {
      return NextInt(13) == 0 ? ' ' : static_cast<char>('a' + NextInt(26));  // a rejection
    }
    if (__builtin_expect(u1 % 13 == 0, 0)) {
      state_ = s1;
      return ' ';
    }
    state_ = s2;
    return static_cast<char>('a' + u2 % 26);
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
  static constexpr uint64_t kIncrement = 0xBULL;
  static constexpr uint64_t kMask = (1ULL << 48) - 1;
  // Two steps at once: s -> (s * m + c) * m + c.
  static constexpr uint64_t kMultiplier2 = (kMultiplier * kMultiplier) & kMask;
  static constexpr uint64_t kIncrement2 = (kIncrement * kMultiplier + kIncrement) & kMask;
  // NextInt(bound) takes a Next(31) draw u as is when u < bound * floor(2^31 / bound).
  static constexpr int32_t kUnbiased13 = 13 * ((1LL << 31) / 13);
  static constexpr int32_t kUnbiased26 = 26 * ((1LL << 31) / 26);
  int32_t Next(int bits) {
    state_ = (state_ * kMultiplier + kIncrement) & kMask;
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

// PriceGenerator.nextPrice for the draw `d`: log-uniform cents in [100, 1e8]. Out of line so
// that the column-wise generator's exact fallback is the very same code.
[[gnu::noinline]] int64_t PriceOf(double d) {
  return static_cast<int64_t>(std::floor(std::pow(10.0, d * 6.0) * 100.0 + 0.5));
}

int64_t NextPrice(JavaRandom& random) {
  return PriceOf(random.NextDouble());
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
  // The last name is drawn before the first name. (This port used to build the name in one
  // expression, whose operands GCC evaluates right to left; the order is kept explicit so that
  // existing event streams do not change. The Java reference draws the first name first.)
  const char* last = kLastNames[static_cast<size_t>(random.NextInt(kLastNames.size()))];
  const char* first = kFirstNames[static_cast<size_t>(random.NextInt(kFirstNames.size()))];
  p.name = std::string(first) + " " + last;
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

// ---------------------------------------------------------------------------------------------
// The column-wise generator (BatchGenerator). It makes the same draws in the same order as
// MakePerson, MakeAuction and MakeBid above, which stay as the readable reference behind
// Generate() (the tests compare the two), but writes every value straight into its column's
// buffers: no per-event strings, prices without pow(), `extra` strings three characters per
// table lookup.

constexpr std::string_view kUrlPrefix = "https://www.nexmark.com/";
constexpr std::string_view kUrlQuery = "item.htm?query=1";
constexpr std::string_view kUrlChannelId = "&channel_id=";
constexpr std::array<std::string_view, 6> kStateViews = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<std::string_view, 10> kCityViews = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::array<std::string_view, 11> kFirstNameViews = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<std::string_view, 9> kLastNameViews = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};

// A channel's name and url in one cache line, copied with fixed-size moves. The url is
// kUrlPrefix + path + kUrlQuery [+ kUrlChannelId + id].
struct alignas(64) ChannelRecord {
  uint8_t channel_len = 0;
  uint8_t path_len = 0;
  uint8_t id_len = 0;  // 0: no channel_id parameter
  char channel[13] = {};
  char path[16] = {};
  char id[16] = {};
};
static_assert(sizeof(ChannelRecord) == 64);

ChannelRecord MakeChannelRecord(std::string_view channel, std::string_view url) {
  ChannelRecord r;
  const size_t query = url.find(kUrlQuery);
  SLUICE_CHECK(channel.size() <= sizeof(r.channel) &&
                   url.substr(0, kUrlPrefix.size()) == kUrlPrefix &&
                   query != std::string_view::npos && query - kUrlPrefix.size() <= sizeof(r.path),
               "unexpected nexmark channel");
  const std::string_view path = url.substr(kUrlPrefix.size(), query - kUrlPrefix.size());
  const std::string_view rest = url.substr(query + kUrlQuery.size());
  std::string_view id;
  if (!rest.empty()) {
    SLUICE_CHECK(rest.substr(0, kUrlChannelId.size()) == kUrlChannelId &&
                     rest.size() > kUrlChannelId.size() &&
                     rest.size() - kUrlChannelId.size() <= sizeof(r.id),
                 "unexpected nexmark channel url");
    id = rest.substr(kUrlChannelId.size());
  }
  r.channel_len = static_cast<uint8_t>(channel.size());
  channel.copy(r.channel, channel.size());
  r.path_len = static_cast<uint8_t>(path.size());
  path.copy(r.path, path.size());
  r.id_len = static_cast<uint8_t>(id.size());
  id.copy(r.id, id.size());  // copy(): memcpy from an empty view's null data() is undefined
  return r;
}

struct FastTables {
  // pow10[j][c] = 10^(c · 2^(8j - 53)): 10^(K · 2^-53) for K < 2^56 is the product of the
  // entries of K's seven bytes.
  double pow10[7][256];
  // NextExactString's characters three at a time: for 0 <= q < 26^3, triples[0][q] holds
  // 'a' + q % 26, 'a' + q / 26 % 26, 'a' + q / 676 (and a fourth byte, 0); triples[1][q] the
  // same with '-' for '+', the characters of -q (Java's remainder keeps the sign).
  uint32_t triples[2][17576];
  std::vector<ChannelRecord> channels;  // channel n
  std::array<ChannelRecord, 4> hot;     // the hot channels
};

const FastTables& Tables() {
  static const FastTables* const tables = [] {
    auto* t = new FastTables;
    for (int j = 0; j < 7; ++j) {
      for (int c = 0; c < 256; ++c) t->pow10[j][c] = std::pow(10.0, std::ldexp(c, 8 * j - 53));
    }
    for (int q = 0; q < 17576; ++q) {
      const int digits[3] = {q % 26, q / 26 % 26, q / 676};
      for (int negative = 0; negative < 2; ++negative) {
        char c[4] = {};
        for (int k = 0; k < 3; ++k) {
          c[k] = static_cast<char>(negative ? 'a' - digits[k] : 'a' + digits[k]);
        }
        std::memcpy(&t->triples[negative][q], c, 4);
      }
    }
    for (const ChannelUrl& u : ChannelUrls()) {
      t->channels.push_back(MakeChannelRecord(u.channel, u.url));
    }
    for (size_t i = 0; i < t->hot.size(); ++i) {
      t->hot[i] = MakeChannelRecord(kHotChannels[i], kHotUrls[i]);
    }
    return t;
  }();
  return *tables;
}

// The six characters NextExactString makes of one draw `v`: 'a' + (v / 26^k) % 26 for
// k = 0..5 with Java's truncating division, i.e. 'a' ± the base-26 digits of |v|. Writes 7
// bytes.
inline void WriteSix(const FastTables& t, char* out, int32_t v) {
  const uint32_t negative = static_cast<uint32_t>(v) >> 31;
  const uint32_t u = negative ? 0u - static_cast<uint32_t>(v) : static_cast<uint32_t>(v);
  const uint32_t* triples = t.triples[negative];
  const uint32_t high = u / 17576;
  std::memcpy(out, &triples[u - high * 17576], 4);
  std::memcpy(out + 3, &triples[high % 17576], 4);
}

// NextExactString(random, 6 * groups) written to `out` (room for 6 * groups + 1 bytes).
inline void NextExactGroups(const FastTables& t, JavaRandom& random, int32_t groups, char* out) {
  for (; groups >= 2; groups -= 2, out += 12) {
    int32_t a, b;
    random.NextInt2(&a, &b);
    WriteSix(t, out, a);
    WriteSix(t, out + 6, b);
  }
  if (groups > 0) WriteSix(t, out, random.NextInt());
}

// The length NextExtra draws (its first draw); the characters follow with NextExactGroups.
inline int32_t ExtraLength(JavaRandom& random, int64_t current_size, int average) {
  if (current_size > average) return 0;
  const int32_t desired = average - static_cast<int32_t>(current_size);
  const int32_t delta = static_cast<int32_t>(std::floor(desired * 0.2 + 0.5));
  return desired - delta + (delta == 0 ? 0 : random.NextInt(2 * delta));
}

// NextString(random, max_length) written to `out` (room for max_length - 1 bytes); returns the
// length after trimming.
inline int32_t NextStringTo(JavaRandom& random, int32_t max_length, char* out) {
  const int32_t len = kMinStringLength + random.NextInt(max_length - kMinStringLength);
  for (int32_t i = 0; i < len; ++i) out[i] = random.NextStringChar();
  int32_t b = 0;
  while (b < len && out[b] == ' ') ++b;
  if (b == len) return 0;
  int32_t e = len;
  while (out[e - 1] == ' ') --e;
  if (b > 0) std::memmove(out, out + b, static_cast<size_t>(e - b));
  return e - b;
}

// PriceOf(d) without pow(): 10^(6d) from the tables (relative error below 2e-15, so below
// 2.5e-7 absolute at the largest price, 1e8 cents), and PriceOf itself in the rare case the
// rounding could go either way.
inline int64_t FastPrice(double d, const double (*pow10)[256]) {
  const double x = d * 6.0;  // a multiple of 2^-53 below 6, as d is
  const auto k = static_cast<int64_t>(x * 0x1p53);
  const double p = (pow10[0][k & 255] * pow10[1][(k >> 8) & 255]) *
                   (pow10[2][(k >> 16) & 255] * pow10[3][(k >> 24) & 255]) *
                   ((pow10[4][(k >> 32) & 255] * pow10[5][(k >> 40) & 255]) * pow10[6][k >> 48]);
  const double y = p * 100.0 + 0.5;
  const double f = std::floor(y);
  if (y - f < 1e-6 || y - f > 1.0 - 1e-6) [[unlikely]]
    return PriceOf(d);
  return static_cast<int64_t>(f);
}

// One string field being generated: int32 offsets (n + 1) and the bytes, written in place.
struct StringOut {
  batch::BufferPtr offsets, data;
  int32_t* off = nullptr;
  char* base = nullptr;
  size_t size = 0, cap = 0;

  void Init(int64_t n, size_t reserve) {
    offsets = std::make_shared<batch::Buffer>(sizeof(int32_t) * static_cast<size_t>(n + 1));
    off = offsets->as<int32_t>();
    off[0] = 0;
    data = std::make_shared<batch::Buffer>();
    data->Reserve(reserve);
    base = reinterpret_cast<char*>(data->data());
    cap = data->capacity();
  }
  // Room for `max` more bytes at the end.
  char* Room(size_t max) {
    if (size + max > cap) [[unlikely]]
      Grow(size + max);
    return base + size;
  }
  void Grow(size_t need) {
    data->Resize(size);
    data->Reserve(need);
    base = reinterpret_cast<char*>(data->data());
    cap = data->capacity();
  }
  // Row `row` is the `len` bytes written at Room().
  void Commit(int64_t row, size_t len) {
    size += len;
    off[row + 1] = static_cast<int32_t>(size);
  }
  void Put(int64_t row, std::string_view s) {
    std::memcpy(Room(s.size()), s.data(), s.size());
    Commit(row, s.size());
  }
};

// The fields of one struct column being generated, by full field index.
struct StructOut {
  std::array<bool, 10> on{};
  std::array<batch::BufferPtr, 10> fixed_buffers;
  std::array<int64_t*, 10> fixed{};
  std::array<StringOut, 10> strings;

  void Int(int f, int64_t row, int64_t v) {
    if (on[static_cast<size_t>(f)]) fixed[static_cast<size_t>(f)][row] = v;
  }
  // Where string field f's bytes go: the column, or `scratch` when the field is not produced.
  char* Dest(int f, size_t max, char* scratch) {
    return on[static_cast<size_t>(f)] ? strings[static_cast<size_t>(f)].Room(max) : scratch;
  }
  void Commit(int f, int64_t row, size_t len) {
    if (on[static_cast<size_t>(f)]) strings[static_cast<size_t>(f)].Commit(row, len);
  }
  // The `extra` field, f: NextExtra's draws (the last of every event, so when the field is not
  // produced they are skipped).
  void Extra(const FastTables& t, int f, int64_t row, JavaRandom& random, int64_t current_size,
             int average) {
    if (!on[static_cast<size_t>(f)]) return;
    const int32_t len = ExtraLength(random, current_size, average);
    StringOut& s = strings[static_cast<size_t>(f)];
    NextExactGroups(t, random, (len + 5) / 6, s.Room(static_cast<size_t>(len) + 7));
    s.Commit(row, static_cast<size_t>(len));
  }
};

// Most bytes one row writes into each string field (Room() requests, slack included), by full
// field index; used to reserve the data buffers up front.
constexpr std::array<std::array<size_t, 10>, 3> kMaxFieldBytes = {{
    {0, 32, 16, 24, 16, 8, 0, 248},       // person: extra < 240 characters
    {0, 24, 104, 0, 0, 0, 0, 0, 0, 560},  // auction: extra < 544
    {0, 0, 0, 16, 96, 0, 96},             // bid: url < 96, extra < 82
}};

void WritePerson(const FastTables& t, StructOut& o, int64_t row, int64_t id, int64_t ts_ms,
                 JavaRandom& random) {
  char scratch[128];
  o.Int(0, row, LastBase0PersonId(id) + kFirstPersonId);
  // Last name first, as MakePerson.
  const std::string_view last = kLastNameViews[static_cast<size_t>(random.NextInt(9))];
  const std::string_view first = kFirstNameViews[static_cast<size_t>(random.NextInt(11))];
  const size_t name_len = first.size() + 1 + last.size();
  if (o.on[1]) {
    char* p = o.strings[1].Room(32);
    std::memcpy(p, first.data(), first.size());
    p[first.size()] = ' ';
    std::memcpy(p + first.size() + 1, last.data(), last.size());
    o.strings[1].Commit(row, name_len);
  }
  char* p = o.Dest(2, 16, scratch);
  const int32_t user = NextStringTo(random, 7, p);
  p[user] = '@';
  const int32_t domain = NextStringTo(random, 5, p + user + 1);
  std::memcpy(p + user + 1 + domain, ".com", 4);
  const size_t email_len = static_cast<size_t>(user + 1 + domain + 4);
  o.Commit(2, row, email_len);
  p = o.Dest(3, 24, scratch);
  for (int i = 0; i < 4; ++i) {
    const int32_t v = random.NextInt(10000);
    char* q = p + 5 * i;
    q[0] = static_cast<char>('0' + v / 1000);
    q[1] = static_cast<char>('0' + v / 100 % 10);
    q[2] = static_cast<char>('0' + v / 10 % 10);
    q[3] = static_cast<char>('0' + v % 10);
    if (i < 3) q[4] = ' ';
  }
  o.Commit(3, row, 19);
  const std::string_view city = kCityViews[static_cast<size_t>(random.NextInt(10))];
  if (o.on[4]) o.strings[4].Put(row, city);
  const std::string_view state = kStateViews[static_cast<size_t>(random.NextInt(6))];
  if (o.on[5]) o.strings[5].Put(row, state);
  o.Int(6, row, ts_ms * 1000);
  o.Extra(t, 7, row, random,
          static_cast<int64_t>(8 + name_len + email_len + 19 + city.size() + state.size()),
          kAvgPersonBytes);
}

void WriteAuction(const FastTables& t, StructOut& o, int64_t row, int64_t id, int64_t ts_ms,
                  const GeneratorOptions& options, JavaRandom& random) {
  char scratch[128];
  o.Int(0, row, LastBase0AuctionId(id) + kFirstAuctionId);
  int64_t seller;
  if (random.NextInt(kHotSellersRatio) > 0) {
    seller = (LastBase0PersonId(id) / kHotBatch) * kHotBatch;
  } else {
    seller = NextBase0PersonId(id, random);
  }
  o.Int(7, row, seller + kFirstPersonId);
  o.Int(8, row, kFirstCategoryId + random.NextInt(kNumCategories));
  const int64_t initial_bid = FastPrice(random.NextDouble(), t.pow10);
  o.Int(3, row, initial_bid);
  constexpr int64_t kEventsForAuctions =
      (kNumInFlightAuctions * kTotalProportion) / kAuctionProportion;
  const int64_t horizon_ms = TimestampMillis(id + kEventsForAuctions, options) - ts_ms;
  const int64_t length_ms = 1 + random.NextLong(std::max<int64_t>(horizon_ms * 2, 1));
  char* p = o.Dest(1, 24, scratch);
  const int32_t item_len = NextStringTo(random, 20, p);
  o.Commit(1, row, static_cast<size_t>(item_len));
  p = o.Dest(2, 104, scratch);
  const int32_t description_len = NextStringTo(random, 100, p);
  o.Commit(2, row, static_cast<size_t>(description_len));
  o.Int(4, row, initial_bid + FastPrice(random.NextDouble(), t.pow10));
  o.Int(5, row, ts_ms * 1000);
  o.Int(6, row, (ts_ms + length_ms) * 1000);
  o.Extra(t, 9, row, random, 8 + item_len + description_len + 40, kAvgAuctionBytes);
}

void WriteBid(const FastTables& t, StructOut& o, int64_t row, int64_t id, int64_t ts_ms,
              JavaRandom& random) {
  int64_t auction;
  if (random.NextInt(kHotAuctionRatio) > 0) {
    auction = (LastBase0AuctionId(id) / kHotBatch) * kHotBatch;
  } else {
    auction = NextBase0AuctionId(id, random);
  }
  o.Int(0, row, auction + kFirstAuctionId);
  int64_t bidder;
  if (random.NextInt(kHotBiddersRatio) > 0) {
    bidder = (LastBase0PersonId(id) / kHotBatch) * kHotBatch + 1;
  } else {
    bidder = NextBase0PersonId(id, random);
  }
  o.Int(1, row, bidder + kFirstPersonId);
  o.Int(2, row, FastPrice(random.NextDouble(), t.pow10));
  const ChannelRecord& c = random.NextInt(kHotChannelsRatio) > 0
                               ? t.hot[static_cast<size_t>(random.NextInt(kHotChannels.size()))]
                               : t.channels[static_cast<size_t>(random.NextInt(kChannelsNumber))];
  if (o.on[3]) {
    // Whole arrays copied (fixed-size moves), then only the string's bytes kept.
    std::memcpy(o.strings[3].Room(sizeof(c.channel)), c.channel, sizeof(c.channel));
    o.strings[3].Commit(row, c.channel_len);
  }
  if (o.on[4]) {
    constexpr size_t kMax =
        kUrlPrefix.size() + sizeof(c.path) + kUrlQuery.size() + kUrlChannelId.size() + sizeof(c.id);
    char* const start = o.strings[4].Room(kMax);
    char* p = start;
    std::memcpy(p, kUrlPrefix.data(), kUrlPrefix.size());
    p += kUrlPrefix.size();
    std::memcpy(p, c.path, sizeof(c.path));
    p += c.path_len;
    std::memcpy(p, kUrlQuery.data(), kUrlQuery.size());
    p += kUrlQuery.size();
    std::memcpy(p, kUrlChannelId.data(), kUrlChannelId.size());
    std::memcpy(p + kUrlChannelId.size(), c.id, sizeof(c.id));
    if (c.id_len > 0) p += kUrlChannelId.size() + c.id_len;
    o.strings[4].Commit(row, static_cast<size_t>(p - start));
  }
  o.Int(5, row, ts_ms * 1000);
  if (o.on[6]) {
    // The length is 54..81 (NextExtra with 32 of 100 bytes used): 9 to 14 groups of six.
    // Drawing all 14 costs less than a mispredicted loop exit, and nothing is drawn after.
    const int32_t len = ExtraLength(random, 32, kAvgBidBytes);
    NextExactGroups(t, random, 14, o.strings[6].Room(14 * 6 + 1));
    o.strings[6].Commit(row, static_cast<size_t>(len));
  }
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

Result<BatchGenerator> BatchGenerator::Make(const types::SchemaPtr& schema,
                                            const GeneratorOptions& options) {
  static const types::Schema kFull = NexmarkSchema();
  BatchGenerator g;
  g.schema_ = schema;
  g.options_ = options;
  for (size_t c = 0; c < schema->size(); ++c) {
    const types::Field& column = schema->field(c);
    std::optional<size_t> kind;
    for (size_t k = 0; k < kFull.size(); ++k) {
      if (kFull.field(k).name == column.name) kind = k;
    }
    if (!kind || g.layout_[*kind].column >= 0 || column.type.id() != types::TypeId::kStruct) {
      return Status::Internal("the nexmark source cannot produce the column {} {}", column.name,
                              column.type.ToString());
    }
    StructLayout& layout = g.layout_[*kind];
    layout.column = static_cast<int>(c);
    const auto& full_fields = kFull.field(*kind).type.fields();
    for (const types::Field& field : column.type.fields()) {
      size_t f = 0;
      while (f < full_fields.size() &&
             !(full_fields[f].name == field.name && full_fields[f].type == field.type)) {
        ++f;
      }
      if (f == full_fields.size() || layout.on[f]) {
        return Status::Internal("the nexmark source cannot produce the field {}.{} {}", column.name,
                                field.name, field.type.ToString());
      }
      layout.fields.push_back(static_cast<int>(f));
      layout.on[f] = true;
    }
  }
  return g;
}

batch::BatchPtr BatchGenerator::Generate(uint64_t first_id, uint64_t stride, int64_t n) const {
  using batch::Buffer;
  using batch::BufferPtr;
  using batch::Column;
  const FastTables& tables = Tables();
  // The kind of every row, and how many rows of each kind.
  std::vector<uint8_t> kinds(static_cast<size_t>(n));
  std::array<int64_t, 3> counts{};
  for (int64_t i = 0; i < n; ++i) {
    const auto kind = static_cast<uint8_t>(KindOf(first_id + static_cast<uint64_t>(i) * stride));
    kinds[static_cast<size_t>(i)] = kind;
    ++counts[kind];
  }
  // Buffers. A struct's validity bitmap (null when no row is NULL) is shared by its fields,
  // whose NULL rows hold zeros and empty strings, as ColumnBuilder::AppendNull leaves them.
  std::array<StructOut, 3> outs;
  std::array<BufferPtr, 3> validity;
  for (size_t k = 0; k < 3; ++k) {
    const StructLayout& layout = layout_[k];
    if (layout.column < 0) continue;
    StructOut& o = outs[k];
    o.on = layout.on;
    const bool has_nulls = counts[k] < n;
    if (has_nulls) {
      validity[k] = std::make_shared<Buffer>();
      validity[k]->ResizeZeroed(batch::BitmapBytes(n));
    }
    const auto& types = schema_->field(static_cast<size_t>(layout.column)).type.fields();
    for (size_t j = 0; j < layout.fields.size(); ++j) {
      const auto f = static_cast<size_t>(layout.fields[j]);
      if (types[j].type.id() == types::TypeId::kUtf8) {
        o.strings[f].Init(n, static_cast<size_t>(counts[k]) * kMaxFieldBytes[k][f] + 64);
      } else {
        o.fixed_buffers[f] = std::make_shared<Buffer>(sizeof(int64_t) * static_cast<size_t>(n));
        o.fixed[f] = o.fixed_buffers[f]->as<int64_t>();
        if (has_nulls && n > 0) {
          std::memset(o.fixed[f], 0, sizeof(int64_t) * static_cast<size_t>(n));
        }
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    const BufferPtr& v = validity[kinds[static_cast<size_t>(i)]];
    if (v) batch::SetBit(v->data(), i);
  }
  auto times = Column::MakeFixed(types::Timestamp(), n);
  auto* ts = times->mutable_raw<int64_t>();
  const bool person = layout_[0].column >= 0, auction = layout_[1].column >= 0,
             bid = layout_[2].column >= 0;
  const double delay_us = 1e6 / options_.nominal_rate;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t event_id = first_id + static_cast<uint64_t>(i) * stride;
    const auto id = static_cast<int64_t>(event_id);
    // TimestampMillis, with the division hoisted.
    const int64_t ts_ms =
        kBaseTimeMillis + static_cast<int64_t>(static_cast<double>(id) * delay_us) / 1000;
    ts[i] = ts_ms * 1000;
    switch (static_cast<EventKind>(kinds[static_cast<size_t>(i)])) {
      case EventKind::kPerson:
        if (person) {
          JavaRandom random(MixSeed(event_id, options_.seed));
          WritePerson(tables, outs[0], i, id, ts_ms, random);
        }
        break;
      case EventKind::kAuction:
        if (auction) {
          JavaRandom random(MixSeed(event_id, options_.seed));
          WriteAuction(tables, outs[1], i, id, ts_ms, options_, random);
        }
        break;
      case EventKind::kBid:
        if (bid) {
          JavaRandom random(MixSeed(event_id, options_.seed));
          WriteBid(tables, outs[2], i, id, ts_ms, random);
        }
        break;
    }
  }
  auto out = std::make_shared<batch::Batch>();
  out->schema = schema_;
  out->columns.resize(schema_->size());
  for (size_t k = 0; k < 3; ++k) {
    const StructLayout& layout = layout_[k];
    if (layout.column < 0) continue;
    StructOut& o = outs[k];
    auto column = std::make_shared<Column>();
    column->type = schema_->field(static_cast<size_t>(layout.column)).type;
    column->length = n;
    column->validity = validity[k];
    for (size_t j = 0; j < layout.fields.size(); ++j) {
      const auto f = static_cast<size_t>(layout.fields[j]);
      auto child = std::make_shared<Column>();
      child->type = column->type.fields()[j].type;
      child->length = n;
      child->validity = validity[k];
      if (child->type.id() == types::TypeId::kUtf8) {
        StringOut& s = o.strings[f];
        if (validity[k]) {
          // NULL rows: empty strings (offset repeated).
          int32_t end = 0;
          for (int64_t i = 0; i < n; ++i) {
            if (kinds[static_cast<size_t>(i)] == k) {
              end = s.off[i + 1];
            } else {
              s.off[i + 1] = end;
            }
          }
        }
        s.data->Resize(s.size);
        child->values = s.offsets;
        child->data = s.data;
      } else {
        child->values = o.fixed_buffers[f];
      }
      column->children.push_back(std::move(child));
    }
    out->columns[static_cast<size_t>(layout.column)] = std::move(column);
  }
  out->event_time = times;
  out->num_rows = n;
  return out;
}

batch::BatchPtr GenerateBatch(uint64_t first_id, uint64_t stride, int64_t n,
                              const GeneratorOptions& options, const types::SchemaPtr& schema) {
  auto generator = BatchGenerator::Make(schema, options);
  SLUICE_CHECK(generator.ok(), "GenerateBatch: not a nexmark schema");
  return generator->Generate(first_id, stride, n);
}

}  // namespace nexmark

}  // namespace sluice::connectors
