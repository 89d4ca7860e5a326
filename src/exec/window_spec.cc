#include "exec/window_spec.h"

#include <fmt/format.h>

#include "types/value.h"

namespace sluice::exec {

namespace {
std::string Micros(int64_t us) {
  types::Interval iv{0, 0, us};
  return types::FormatInterval(iv);
}
}  // namespace

std::string WindowSpec::ToString() const {
  switch (kind) {
    case Kind::kTumble:
      return fmt::format("tumble({})", Micros(width));
    case Kind::kHop:
      return fmt::format("hop(slide {}, width {})", Micros(slide), Micros(width));
    case Kind::kSession:
      return fmt::format("session(gap {})", Micros(gap));
    case Kind::kFromColumn:
      return fmt::format("window of column ${}", column);
  }
  return "?";
}

std::string DescribeAggregates(const std::vector<AggregateCall>& calls) {
  std::string out;
  for (size_t i = 0; i < calls.size(); ++i) {
    if (i) out += ", ";
    out += calls[i].display;
  }
  return out;
}

types::DataType WindowStructType() {
  return types::DataType::Struct(
      {{"start", types::Timestamp(), true}, {"end", types::Timestamp(), true}});
}

}  // namespace sluice::exec
