#pragma once
// Strong time types. Event time and processing time are both microseconds since the Unix epoch
// but must not be mixed up; a watermark is an event time with its own meaning.

#include <compare>
#include <cstdint>
#include <limits>

namespace sluice {

template <typename Tag>
struct Micros {
  int64_t value = 0;
  constexpr auto operator<=>(const Micros&) const = default;
};

using EventTime = Micros<struct EventTimeTag>;
using ProcessingTime = Micros<struct ProcessingTimeTag>;

struct Watermark {
  EventTime time;
  static constexpr Watermark Min() { return {EventTime{std::numeric_limits<int64_t>::min()}}; }
  static constexpr Watermark Max() { return {EventTime{std::numeric_limits<int64_t>::max()}}; }
  constexpr auto operator<=>(const Watermark&) const = default;
};

ProcessingTime Now();

}  // namespace sluice
