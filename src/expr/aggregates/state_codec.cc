#include "expr/aggregates/state_codec.h"

namespace sluice::expr {

namespace {

bool SkipValue(const DataType& type, SlotReader* in) {
  uint8_t flag = 0;
  if (!in->Fixed(&flag) || flag > 1) return false;
  if (flag == 0) return true;  // NULL
  std::string_view skipped;
  switch (type.id()) {
    case TypeId::kNull:
      return true;
    case TypeId::kBool:
      return in->Raw(1, &skipped);
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      uint32_t size = 0;
      return in->Fixed(&size) && in->Raw(size, &skipped);
    }
    case TypeId::kList: {
      uint32_t count = 0;
      if (!in->Fixed(&count)) return false;
      for (uint32_t j = 0; j < count; ++j) {
        if (!SkipValue(type.element(), in)) return false;
      }
      return true;
    }
    case TypeId::kStruct:
      for (const auto& field : type.fields()) {
        if (!SkipValue(field.type, in)) return false;
      }
      return true;
    default: {
      const int width = type.byte_width();
      return width > 0 && in->Raw(static_cast<size_t>(width), &skipped);
    }
  }
}

}  // namespace

bool SkipEncodedValue(const DataType& type, SlotReader* in) {
  return SkipValue(type, in);
}

Status AggregateState::SerializeEachGroup(const uint32_t* groups, int64_t n,
                                          ColumnBuilder* out) const {
  std::string bytes;
  for (int64_t i = 0; i < n; ++i) {
    bytes.clear();
    SLUICE_RETURN_NOT_OK(SerializeGroups(&groups[i], 1, &bytes));
    out->AppendString(bytes);
  }
  return Status::Ok();
}

Status AggregateState::DeserializeEachGroup(const Column& values, const int32_t* rows,
                                            const uint32_t* groups, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    SLUICE_RETURN_NOT_OK(DeserializeGroups(values.GetString(rows ? rows[i] : i), &groups[i], 1));
  }
  return Status::Ok();
}

}  // namespace sluice::expr
