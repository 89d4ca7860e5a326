#include "common/duration.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace sluice {

Result<int64_t> ParseDuration(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return Status::User("invalid {} '{}'; use a duration with a unit, such as 500ms, 10s or 2m",
                        what, text);
  };
  size_t unit = 0;
  while (unit < text.size() && ((text[unit] >= '0' && text[unit] <= '9') || text[unit] == '.')) {
    ++unit;
  }
  std::string number(text.substr(0, unit));
  std::string_view suffix = text.substr(unit);
  if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
    return bad();
  }
  double micros_per_unit;
  if (suffix == "us") {
    micros_per_unit = 1;
  } else if (suffix == "ms") {
    micros_per_unit = 1e3;
  } else if (suffix == "s") {
    micros_per_unit = 1e6;
  } else if (suffix == "m" || suffix == "min") {
    micros_per_unit = 60e6;
  } else if (suffix == "h") {
    micros_per_unit = 3600e6;
  } else {
    return bad();
  }
  double v = std::strtod(number.c_str(), nullptr) * micros_per_unit;
  if (!(v >= 0) || v > 1e15) return bad();  // about 30 years
  return static_cast<int64_t>(v);
}

}  // namespace sluice
