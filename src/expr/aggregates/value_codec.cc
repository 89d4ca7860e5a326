#include "expr/aggregates/value_codec.h"

#include "common/check.h"

namespace sluice::expr {

using batch::Column;
using batch::ColumnBuilder;
using types::TypeId;

namespace {

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <typename T>
T Take(std::string_view* in) {
  SLUICE_CHECK(in->size() >= sizeof(T), "truncated encoded value");
  T v;
  std::memcpy(&v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return v;
}

template <typename T>
void PutFloat(std::string* out, T v) {
  if (v == 0) v = 0;
  if (v != v) v = std::numeric_limits<T>::quiet_NaN();
  Put(out, v);
}

}  // namespace

bool HasWordKey(TypeId id) {
  switch (id) {
    case TypeId::kBool:
    case TypeId::kInt8:
    case TypeId::kInt16:
    case TypeId::kInt32:
    case TypeId::kInt64:
    case TypeId::kUInt8:
    case TypeId::kUInt16:
    case TypeId::kUInt32:
    case TypeId::kUInt64:
    case TypeId::kFloat32:
    case TypeId::kFloat64:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return true;
    default:
      return false;
  }
}

void EncodeValue(const Column& c, int64_t row, std::string* out) {
  if (c.type.id() == TypeId::kNull || c.IsNull(row)) {
    out->push_back('\0');
    return;
  }
  out->push_back('\1');
  switch (c.type.id()) {
    case TypeId::kNull:
      return;
    case TypeId::kBool:
      out->push_back(c.GetBool(row) ? '\1' : '\0');
      return;
    case TypeId::kFloat32:
      PutFloat(out, c.raw<float>()[row]);
      return;
    case TypeId::kFloat64:
      PutFloat(out, c.raw<double>()[row]);
      return;
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      std::string_view s = c.GetString(row);
      Put(out, static_cast<uint32_t>(s.size()));
      out->append(s);
      return;
    }
    case TypeId::kList: {
      const int32_t* o = c.offsets();
      Put(out, static_cast<uint32_t>(o[row + 1] - o[row]));
      for (int32_t j = o[row]; j < o[row + 1]; ++j) EncodeValue(*c.children[0], j, out);
      return;
    }
    case TypeId::kStruct:
      for (const auto& field : c.children) EncodeValue(*field, row, out);
      return;
    default: {
      // Integers, DECIMAL, DATE, TIME, TIMESTAMP, INTERVAL: their bytes.
      size_t width = static_cast<size_t>(c.type.byte_width());
      SLUICE_CHECK(width > 0, "unexpected type in EncodeValue");
      out->append(reinterpret_cast<const char*>(c.values->data()) + width * row, width);
      return;
    }
  }
}

void DecodeValue(std::string_view* in, ColumnBuilder* b) {
  if (Take<char>(in) == '\0') {
    b->AppendNull();
    return;
  }
  switch (b->type().id()) {
    case TypeId::kNull:
      b->AppendNull();
      return;
    case TypeId::kBool:
      b->AppendBool(Take<char>(in) != '\0');
      return;
    case TypeId::kInt8:
      b->AppendFixed(Take<int8_t>(in));
      return;
    case TypeId::kInt16:
      b->AppendFixed(Take<int16_t>(in));
      return;
    case TypeId::kInt32:
    case TypeId::kDate:
      b->AppendFixed(Take<int32_t>(in));
      return;
    case TypeId::kInt64:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      b->AppendFixed(Take<int64_t>(in));
      return;
    case TypeId::kUInt8:
      b->AppendFixed(Take<uint8_t>(in));
      return;
    case TypeId::kUInt16:
      b->AppendFixed(Take<uint16_t>(in));
      return;
    case TypeId::kUInt32:
      b->AppendFixed(Take<uint32_t>(in));
      return;
    case TypeId::kUInt64:
      b->AppendFixed(Take<uint64_t>(in));
      return;
    case TypeId::kFloat32:
      b->AppendFixed(Take<float>(in));
      return;
    case TypeId::kFloat64:
      b->AppendFixed(Take<double>(in));
      return;
    case TypeId::kDecimal:
      b->AppendFixed(Take<types::int128_t>(in));
      return;
    case TypeId::kInterval:
      b->AppendFixed(Take<types::Interval>(in));
      return;
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      uint32_t size = Take<uint32_t>(in);
      SLUICE_CHECK(in->size() >= size, "truncated encoded string");
      b->AppendString(in->substr(0, size));
      in->remove_prefix(size);
      return;
    }
    case TypeId::kList: {
      uint32_t count = Take<uint32_t>(in);
      for (uint32_t j = 0; j < count; ++j) DecodeValue(in, b->element_builder());
      b->FinishListRow();
      return;
    }
    case TypeId::kStruct:
      for (size_t f = 0; f < b->type().fields().size(); ++f) DecodeValue(in, b->field_builder(f));
      b->FinishStructRow();
      return;
  }
}

}  // namespace sluice::expr
