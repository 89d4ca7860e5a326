#include "connectors/filesystem/partitioner.h"

#include <charconv>

#include <fmt/format.h>

namespace sluice::connectors::filesystem {

namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

struct Civil {
  int64_t year;
  int month, day;
};

// Days since 1970-01-01 → proleptic Gregorian date (H. Hinnant's civil_from_days).
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// A partition value as a directory name: as Hive escapes it.
void AppendEscaped(std::string_view v, std::string* out) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '/' || c == '\\' || c == '=' || c == '%' || c == ':' || c == '#' ||
        c == '"' || c == '\'' || c == '*' || c == '?' || c == '[' || c == ']' || c == '{' ||
        c == '}' || c == '^' || u == 0x7f) {
      fmt::format_to(std::back_inserter(*out), "%{:02X}", u);
    } else {
      out->push_back(c);
    }
  }
}

void AppendValue(const batch::Column& c, int64_t i, std::string* out) {
  if (c.IsNull(i)) {
    out->append("__HIVE_DEFAULT_PARTITION__");
    return;
  }
  char buf[32];
  switch (c.type.id()) {
    case types::TypeId::kUtf8:
    case types::TypeId::kJson:
      AppendEscaped(c.GetString(i), out);
      return;
    case types::TypeId::kInt32: {
      auto r = std::to_chars(buf, buf + sizeof(buf), c.raw<int32_t>()[i]);
      out->append(buf, r.ptr);
      return;
    }
    case types::TypeId::kInt64: {
      auto r = std::to_chars(buf, buf + sizeof(buf), c.raw<int64_t>()[i]);
      out->append(buf, r.ptr);
      return;
    }
    default:
      AppendEscaped(c.GetValue(i).ToString(), out);
  }
}

}  // namespace

Result<Partitioner> Partitioner::Make(const std::vector<std::string>& fields,
                                      const std::string& time_pattern, const types::Schema& schema,
                                      const std::string& table) {
  Partitioner p;
  for (const std::string& f : fields) {
    auto i = schema.Find(f);
    if (!i) {
      return Status::User(
          "{}: partitioning.fields names column '{}', which the rows ({}) do not "
          "have",
          table, f, schema.ToString());
    }
    const types::DataType& t = schema.field(*i).type;
    if (t.is_nested()) {
      return Status::User(
          "{}: partitioning.fields column '{}' is {}; partition by a scalar "
          "column",
          table, f, t.ToString());
    }
    p.fields_.push_back(*i);
    p.names_.push_back(schema.field(*i).name);
  }
  p.pattern_ = time_pattern;
  // The finest conversion sets the partition's length.
  auto has = [&](char c) { return time_pattern.find(std::string("%") + c) != std::string::npos; };
  if (has('S')) {
    p.unit_ = Unit::kSecond;
  } else if (has('M')) {
    p.unit_ = Unit::kMinute;
  } else if (has('H')) {
    p.unit_ = Unit::kHour;
  } else if (has('d') || has('j')) {
    p.unit_ = Unit::kDay;
  } else if (has('m')) {
    p.unit_ = Unit::kMonth;
  } else {
    p.unit_ = Unit::kYear;
  }
  return p;
}

void Partitioner::EnterBucket(int64_t t) {
  const int64_t day = FloorDiv(t, kMicrosPerDay);
  const Civil c = CivilFromDays(day);
  int64_t of_day = t - day * kMicrosPerDay;
  const int hour = static_cast<int>(of_day / (3600 * kMicrosPerSecond));
  const int minute = static_cast<int>(of_day / (60 * kMicrosPerSecond) % 60);
  const int second = static_cast<int>(of_day / kMicrosPerSecond % 60);
  switch (unit_) {
    case Unit::kSecond:
      bucket_start_ = FloorDiv(t, kMicrosPerSecond) * kMicrosPerSecond;
      bucket_end_ = bucket_start_ + kMicrosPerSecond;
      break;
    case Unit::kMinute:
      bucket_start_ = FloorDiv(t, 60 * kMicrosPerSecond) * 60 * kMicrosPerSecond;
      bucket_end_ = bucket_start_ + 60 * kMicrosPerSecond;
      break;
    case Unit::kHour:
      bucket_start_ = FloorDiv(t, 3600 * kMicrosPerSecond) * 3600 * kMicrosPerSecond;
      bucket_end_ = bucket_start_ + 3600 * kMicrosPerSecond;
      break;
    case Unit::kDay:
      bucket_start_ = day * kMicrosPerDay;
      bucket_end_ = bucket_start_ + kMicrosPerDay;
      break;
    case Unit::kMonth:
      bucket_start_ = DaysFromCivil(c.year, c.month, 1) * kMicrosPerDay;
      bucket_end_ = (c.month == 12 ? DaysFromCivil(c.year + 1, 1, 1)
                                   : DaysFromCivil(c.year, c.month + 1, 1)) *
                    kMicrosPerDay;
      break;
    case Unit::kYear:
      bucket_start_ = DaysFromCivil(c.year, 1, 1) * kMicrosPerDay;
      bucket_end_ = DaysFromCivil(c.year + 1, 1, 1) * kMicrosPerDay;
      break;
  }
  bucket_text_.clear();
  auto out = std::back_inserter(bucket_text_);
  for (size_t i = 0; i < pattern_.size(); ++i) {
    if (pattern_[i] != '%' || i + 1 == pattern_.size()) {
      bucket_text_.push_back(pattern_[i]);
      continue;
    }
    switch (pattern_[++i]) {
      case 'Y':
        fmt::format_to(out, "{:04}", c.year);
        break;
      case 'y':
        fmt::format_to(out, "{:02}", ((c.year % 100) + 100) % 100);
        break;
      case 'm':
        fmt::format_to(out, "{:02}", c.month);
        break;
      case 'd':
        fmt::format_to(out, "{:02}", c.day);
        break;
      case 'j':
        fmt::format_to(out, "{:03}", day - DaysFromCivil(c.year, 1, 1) + 1);
        break;
      case 'H':
        fmt::format_to(out, "{:02}", hour);
        break;
      case 'M':
        fmt::format_to(out, "{:02}", minute);
        break;
      case 'S':
        fmt::format_to(out, "{:02}", second);
        break;
      default:
        bucket_text_.push_back(pattern_[i]);  // %%
    }
  }
}

void Partitioner::Group(const batch::Batch& b, std::vector<PartitionGroup>* out) {
  out->clear();
  index_.clear();
  const int64_t* times = pattern_.empty() ? nullptr : b.event_time->raw<int64_t>();
  size_t last = SIZE_MAX;  // the previous row's group: runs of one partition skip the lookup
  std::string previous;
  for (int64_t i = 0; i < b.num_rows; ++i) {
    key_.clear();
    if (times != nullptr) {
      if (times[i] < bucket_start_ || times[i] >= bucket_end_) EnterBucket(times[i]);
      key_ = bucket_text_;
    }
    for (size_t f = 0; f < fields_.size(); ++f) {
      if (!key_.empty()) key_.push_back('/');
      key_.append(names_[f]);
      key_.push_back('=');
      AppendValue(*b.columns[fields_[f]], i, &key_);
    }
    size_t g;
    if (last != SIZE_MAX && key_ == (*out)[last].dir) {
      g = last;
    } else {
      auto [it, fresh] = index_.try_emplace(key_, out->size());
      if (fresh) {
        out->push_back({key_, {}, times != nullptr ? bucket_end_ : INT64_MAX});
      }
      g = it->second;
    }
    (*out)[g].rows.push_back(static_cast<int32_t>(i));
    last = g;
  }
}

}  // namespace sluice::connectors::filesystem
