#include "runtime/metrics.h"

namespace sluice::runtime {

namespace {

int64_t ColumnBytes(const batch::Column& c) {
  int64_t n = 0;
  if (c.validity) n += static_cast<int64_t>(c.validity->size());
  if (c.values) n += static_cast<int64_t>(c.values->size());
  if (c.data) n += static_cast<int64_t>(c.data->size());
  for (const auto& child : c.children) {
    if (child) n += ColumnBytes(*child);
  }
  return n;
}

}  // namespace

int64_t BatchBytes(const batch::Batch& b) {
  int64_t n = 0;
  for (const auto& c : b.columns) {
    if (c) n += ColumnBytes(*c);
  }
  if (b.event_time) n += ColumnBytes(*b.event_time);
  if (b.change_kind) n += ColumnBytes(*b.change_kind);
  return n;
}

}  // namespace sluice::runtime
