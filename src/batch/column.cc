#include "batch/column.h"

#include <cstring>

#include "batch/column_builder.h"
#include "common/check.h"

namespace sluice::batch {

using types::Value;

int64_t Column::CountNulls() const {
  if (!validity) return 0;
  int64_t n = 0;
  for (int64_t i = 0; i < length; ++i) n += !GetBit(validity->data(), i);
  return n;
}

Value Column::GetValue(int64_t i) const {
  if (IsNull(i)) return Value::Null(type);
  switch (type.id()) {
    case TypeId::kNull:
      return Value::Null(type);
    case TypeId::kBool:
      return Value::Boolean(GetBool(i));
    case TypeId::kInt8:
      return Value::Int(type, raw<int8_t>()[i]);
    case TypeId::kInt16:
      return Value::Int(type, raw<int16_t>()[i]);
    case TypeId::kInt32:
      return Value::Int(type, raw<int32_t>()[i]);
    case TypeId::kInt64:
      return Value::Int(type, raw<int64_t>()[i]);
    case TypeId::kUInt8:
      return Value::UInt(type, raw<uint8_t>()[i]);
    case TypeId::kUInt16:
      return Value::UInt(type, raw<uint16_t>()[i]);
    case TypeId::kUInt32:
      return Value::UInt(type, raw<uint32_t>()[i]);
    case TypeId::kUInt64:
      return Value::UInt(type, raw<uint64_t>()[i]);
    case TypeId::kFloat32:
      return Value::Float(type, raw<float>()[i]);
    case TypeId::kFloat64:
      return Value::Float(type, raw<double>()[i]);
    case TypeId::kDecimal:
      return Value::Decimal(type, raw<types::int128_t>()[i]);
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
      return Value::Bytes(type, std::string(GetString(i)));
    case TypeId::kDate:
      return Value::Int(type, raw<int32_t>()[i]);
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return Value::Int(type, raw<int64_t>()[i]);
    case TypeId::kInterval:
      return Value::IntervalValue(raw<types::Interval>()[i]);
    case TypeId::kList: {
      std::vector<Value> items;
      for (int32_t j = offsets()[i]; j < offsets()[i + 1]; ++j) {
        items.push_back(children[0]->GetValue(j));
      }
      return Value::Nested(type, std::move(items));
    }
    case TypeId::kStruct: {
      std::vector<Value> fields;
      for (const auto& c : children) fields.push_back(c->GetValue(i));
      return Value::Nested(type, std::move(fields));
    }
  }
  return Value::Null(type);
}

MutableColumnPtr Column::MakeFixed(const DataType& type, int64_t length) {
  auto c = std::make_shared<Column>();
  c->type = type;
  c->length = length;
  size_t bytes = type.id() == TypeId::kBool ? BitmapBytes(length)
                                            : static_cast<size_t>(type.byte_width()) * length;
  c->values = std::make_shared<Buffer>(bytes);
  if (type.id() == TypeId::kBool && bytes > 0) std::memset(c->values->data(), 0, bytes);
  return c;
}

BufferPtr Column::MakeAllValidBitmap(int64_t length) {
  auto b = std::make_shared<Buffer>(BitmapBytes(length));
  if (b->size() > 0) std::memset(b->data(), 0xff, b->size());
  return b;
}

ColumnPtr Column::MakeNull(const DataType& type, int64_t length) {
  ColumnBuilder builder(type);
  builder.Reserve(length);
  for (int64_t i = 0; i < length; ++i) builder.AppendNull();
  return builder.Finish();
}

namespace {
template <typename T>
ColumnPtr FillFixed(const DataType& type, T v, int64_t length) {
  auto c = Column::MakeFixed(type, length);
  T* d = c->mutable_raw<T>();
  for (int64_t i = 0; i < length; ++i) d[i] = v;
  return c;
}
}  // namespace

ColumnPtr Column::MakeConstant(const Value& value, int64_t length) {
  // Literals are expanded once per batch: the common fixed-width kinds are filled directly.
  if (!value.is_null()) {
    switch (value.type().id()) {
      case TypeId::kInt32:
        return FillFixed<int32_t>(value.type(), static_cast<int32_t>(value.int_value()), length);
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        return FillFixed<int64_t>(value.type(), value.int_value(), length);
      case TypeId::kUInt64:
        return FillFixed<uint64_t>(value.type(), value.uint_value(), length);
      case TypeId::kFloat64:
        return FillFixed<double>(value.type(), value.double_value(), length);
      case TypeId::kBool: {
        auto c = MakeFixed(value.type(), length);
        if (c->values->size() > 0) {
          std::memset(c->values->data(), value.bool_value() ? 0xff : 0, c->values->size());
        }
        return c;
      }
      default:
        break;
    }
  }
  ColumnBuilder builder(value.type());
  builder.Reserve(length);
  if (!value.is_null() && value.type().is_string_like()) {
    // String literals (a CASE branch's text) are common too: append the bytes, no Value
    // dispatch per row.
    const std::string& bytes = value.string_value();
    for (int64_t i = 0; i < length; ++i) builder.AppendString(bytes);
    return builder.Finish();
  }
  for (int64_t i = 0; i < length; ++i) builder.AppendValue(value);
  return builder.Finish();
}

static void TakeValidity(const Column& src, const int32_t* idx, int64_t n, Column* out) {
  if (!src.validity) return;
  out->validity = std::make_shared<Buffer>(BitmapBytes(n));
  if (n > 0) std::memset(out->validity->data(), 0, out->validity->size());
  const uint8_t* sb = src.validity->data();
  uint8_t* db = out->validity->data();
  for (int64_t i = 0; i < n; ++i) {
    if (GetBit(sb, idx[i])) SetBit(db, i);
  }
}

template <typename T>
static void TakeFixed(const Column& src, const int32_t* idx, int64_t n, Column* out) {
  const T* s = src.raw<T>();
  T* d = out->mutable_raw<T>();
  for (int64_t i = 0; i < n; ++i) d[i] = s[idx[i]];
}

ColumnPtr Take(const Column& column, const int32_t* indices, int64_t n) {
  const DataType& type = column.type;
  switch (type.id()) {
    case TypeId::kNull:
      return Column::MakeNull(type, n);
    case TypeId::kBool: {
      auto out = Column::MakeFixed(type, n);
      uint8_t* d = out->values->data();
      const uint8_t* s = column.values->data();
      for (int64_t i = 0; i < n; ++i) {
        if (GetBit(s, indices[i])) SetBit(d, i);
      }
      TakeValidity(column, indices, n, out.get());
      return out;
    }
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      auto out = std::make_shared<Column>();
      out->type = type;
      out->length = n;
      out->values = std::make_shared<Buffer>(sizeof(int32_t) * (n + 1));
      int32_t* o = out->values->as<int32_t>();
      const int32_t* so = column.offsets();
      size_t total = 0;
      for (int64_t i = 0; i < n; ++i) total += so[indices[i] + 1] - so[indices[i]];
      out->data = std::make_shared<Buffer>(total);
      uint8_t* dd = out->data->data();
      const uint8_t* sd = column.data->data();
      int32_t pos = 0;
      o[0] = 0;
      for (int64_t i = 0; i < n; ++i) {
        int32_t len = so[indices[i] + 1] - so[indices[i]];
        if (len > 0) std::memcpy(dd + pos, sd + so[indices[i]], static_cast<size_t>(len));
        pos += len;
        o[i + 1] = pos;
      }
      TakeValidity(column, indices, n, out.get());
      return out;
    }
    case TypeId::kList: {
      auto out = std::make_shared<Column>();
      out->type = type;
      out->length = n;
      out->values = std::make_shared<Buffer>(sizeof(int32_t) * (n + 1));
      int32_t* o = out->values->as<int32_t>();
      const int32_t* so = column.offsets();
      std::vector<int32_t> child_idx;
      o[0] = 0;
      for (int64_t i = 0; i < n; ++i) {
        for (int32_t j = so[indices[i]]; j < so[indices[i] + 1]; ++j) child_idx.push_back(j);
        o[i + 1] = static_cast<int32_t>(child_idx.size());
      }
      out->children.push_back(
          Take(*column.children[0], child_idx.data(), static_cast<int64_t>(child_idx.size())));
      TakeValidity(column, indices, n, out.get());
      return out;
    }
    case TypeId::kStruct: {
      auto out = std::make_shared<Column>();
      out->type = type;
      out->length = n;
      for (const auto& child : column.children) out->children.push_back(Take(*child, indices, n));
      TakeValidity(column, indices, n, out.get());
      return out;
    }
    default: {
      auto out = Column::MakeFixed(type, n);
      switch (type.byte_width()) {
        case 1:
          TakeFixed<uint8_t>(column, indices, n, out.get());
          break;
        case 2:
          TakeFixed<uint16_t>(column, indices, n, out.get());
          break;
        case 4:
          TakeFixed<uint32_t>(column, indices, n, out.get());
          break;
        case 8:
          TakeFixed<uint64_t>(column, indices, n, out.get());
          break;
        case 16:
          TakeFixed<types::int128_t>(column, indices, n, out.get());
          break;
        default:
          SLUICE_CHECK(false, "unexpected byte width");
      }
      TakeValidity(column, indices, n, out.get());
      return out;
    }
  }
}

ColumnPtr FilterColumn(const Column& column, const std::vector<int32_t>& selected) {
  return Take(column, selected.data(), static_cast<int64_t>(selected.size()));
}

namespace {

// The validity of the concatenation: null when no part has NULLs.
BufferPtr ConcatValidity(const std::vector<ColumnPtr>& columns, int64_t total) {
  bool any = false;
  for (const auto& c : columns) any |= c->validity != nullptr;
  if (!any) return nullptr;
  BufferPtr out = Column::MakeAllValidBitmap(total);
  int64_t at = 0;
  for (const auto& c : columns) {
    if (c->validity) {
      for (int64_t i = 0; i < c->length; ++i) {
        if (!GetBit(c->validity->data(), i)) ClearBit(out->data(), at + i);
      }
    }
    at += c->length;
  }
  return out;
}

// Offsets (strings, lists) of the concatenation, each part rebased; `starts` receives each
// part's first offset (its values begin there in its data or child).
BufferPtr ConcatOffsets(const std::vector<ColumnPtr>& columns, int64_t total,
                        std::vector<int32_t>* starts) {
  auto out = std::make_shared<Buffer>(sizeof(int32_t) * static_cast<size_t>(total + 1));
  int32_t* o = out->as<int32_t>();
  o[0] = 0;
  int64_t at = 0;
  int32_t base = 0;
  for (const auto& c : columns) {
    const int32_t* so = c->offsets();
    starts->push_back(so[0]);
    for (int64_t i = 0; i < c->length; ++i) o[at + i + 1] = base + (so[i + 1] - so[0]);
    at += c->length;
    base += so[c->length] - so[0];
  }
  return out;
}

}  // namespace

ColumnPtr Concat(const std::vector<ColumnPtr>& columns) {
  SLUICE_CHECK(!columns.empty(), "Concat of nothing");
  if (columns.size() == 1) return columns[0];
  const DataType& type = columns[0]->type;
  int64_t total = 0;
  for (const auto& c : columns) total += c->length;
  switch (type.id()) {
    case TypeId::kNull:
      return Column::MakeNull(type, total);
    case TypeId::kBool: {
      auto out = Column::MakeFixed(type, total);
      int64_t at = 0;
      for (const auto& c : columns) {
        for (int64_t i = 0; i < c->length; ++i) {
          if (GetBit(c->values->data(), i)) SetBit(out->values->data(), at + i);
        }
        at += c->length;
      }
      out->validity = ConcatValidity(columns, total);
      return out;
    }
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      auto out = std::make_shared<Column>();
      out->type = type;
      out->length = total;
      std::vector<int32_t> starts;
      out->values = ConcatOffsets(columns, total, &starts);
      out->data = std::make_shared<Buffer>();
      out->data->Reserve(static_cast<size_t>(out->values->as<int32_t>()[total]));
      for (size_t k = 0; k < columns.size(); ++k) {
        const Column& c = *columns[k];
        int32_t len = c.offsets()[c.length] - starts[k];
        if (len > 0) out->data->Append(c.data->data() + starts[k], static_cast<size_t>(len));
      }
      out->validity = ConcatValidity(columns, total);
      return out;
    }
    case TypeId::kList: {
      auto out = std::make_shared<Column>();
      out->type = type;
      out->length = total;
      std::vector<int32_t> starts;
      out->values = ConcatOffsets(columns, total, &starts);
      std::vector<ColumnPtr> elements;
      for (size_t k = 0; k < columns.size(); ++k) {
        const Column& c = *columns[k];
        int32_t end = c.offsets()[c.length];
        const Column& child = *c.children[0];
        if (starts[k] == 0 && end == child.length) {
          elements.push_back(c.children[0]);
        } else {
          std::vector<int32_t> idx;
          for (int32_t j = starts[k]; j < end; ++j) idx.push_back(j);
          elements.push_back(Take(child, idx.data(), static_cast<int64_t>(idx.size())));
        }
      }
      out->children.push_back(Concat(elements));
      out->validity = ConcatValidity(columns, total);
      return out;
    }
    case TypeId::kStruct: {
      auto out = std::make_shared<Column>();
      out->type = type;
      out->length = total;
      for (size_t f = 0; f < columns[0]->children.size(); ++f) {
        std::vector<ColumnPtr> parts;
        for (const auto& c : columns) parts.push_back(c->children[f]);
        out->children.push_back(Concat(parts));
      }
      out->validity = ConcatValidity(columns, total);
      return out;
    }
    default: {
      const auto width = static_cast<size_t>(type.byte_width());
      auto out = Column::MakeFixed(type, total);
      size_t at = 0;
      for (const auto& c : columns) {
        size_t bytes = width * static_cast<size_t>(c->length);
        if (bytes > 0) std::memcpy(out->values->data() + at, c->values->data(), bytes);
        at += bytes;
      }
      out->validity = ConcatValidity(columns, total);
      return out;
    }
  }
}

namespace {

template <typename T>
int CompareFixed(const Column& c, int64_t i, int64_t j) {
  const T* v = c.raw<T>();
  return v[i] < v[j] ? -1 : (v[j] < v[i] ? 1 : 0);
}

}  // namespace

int CompareNonNullRows(const Column& c, int64_t i, int64_t j) {
  switch (c.type.id()) {
    case TypeId::kBool:
      return static_cast<int>(c.GetBool(i)) - static_cast<int>(c.GetBool(j));
    case TypeId::kInt8:
      return CompareFixed<int8_t>(c, i, j);
    case TypeId::kInt16:
      return CompareFixed<int16_t>(c, i, j);
    case TypeId::kInt32:
    case TypeId::kDate:
      return CompareFixed<int32_t>(c, i, j);
    case TypeId::kInt64:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return CompareFixed<int64_t>(c, i, j);
    case TypeId::kUInt8:
      return CompareFixed<uint8_t>(c, i, j);
    case TypeId::kUInt16:
      return CompareFixed<uint16_t>(c, i, j);
    case TypeId::kUInt32:
      return CompareFixed<uint32_t>(c, i, j);
    case TypeId::kUInt64:
      return CompareFixed<uint64_t>(c, i, j);
    case TypeId::kFloat32:
      return CompareFixed<float>(c, i, j);
    case TypeId::kFloat64:
      return CompareFixed<double>(c, i, j);
    case TypeId::kDecimal:
      return CompareFixed<types::int128_t>(c, i, j);
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      int r = c.GetString(i).compare(c.GetString(j));
      return r < 0 ? -1 : (r > 0 ? 1 : 0);
    }
    default:
      return types::CompareValues(c.GetValue(i), c.GetValue(j));
  }
}

}  // namespace sluice::batch
