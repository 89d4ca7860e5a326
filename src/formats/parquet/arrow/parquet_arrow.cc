#include "formats/parquet/arrow/parquet_arrow_internal.h"

#include <cstring>

#include <arrow/util/bitmap_ops.h>
#include <fmt/format.h>

namespace sluice::formats {

namespace parquet_internal {

using types::TypeId;

namespace {

// An Arrow view of a Sluice buffer that keeps it alive.
class HeldBuffer : public arrow::Buffer {
 public:
  explicit HeldBuffer(batch::BufferPtr held)
      : arrow::Buffer(held->data(), static_cast<int64_t>(held->size())), held_(std::move(held)) {}

 private:
  batch::BufferPtr held_;
};

const std::shared_ptr<arrow::Buffer>& EmptyBuffer() {
  static const std::shared_ptr<arrow::Buffer> empty = [] {
    static const uint64_t zeros[8] = {};
    return std::make_shared<arrow::Buffer>(reinterpret_cast<const uint8_t*>(zeros), 0);
  }();
  return empty;
}

std::shared_ptr<arrow::Buffer> Wrap(const batch::BufferPtr& b) {
  if (b == nullptr || b->data() == nullptr) return EmptyBuffer();
  return std::make_shared<HeldBuffer>(b);
}

batch::BufferPtr CopyBytes(const uint8_t* data, size_t n) {
  auto b = std::make_shared<batch::Buffer>(n);
  if (n > 0) std::memcpy(b->data(), data, n);
  return b;
}

// Bits [offset, offset + length) of `bits`, from bit 0 of a new bitmap.
batch::BufferPtr CopyBitmap(const uint8_t* bits, int64_t offset, int64_t length) {
  const size_t bytes = static_cast<size_t>((length + 7) / 8);
  if ((offset & 7) == 0) return CopyBytes(bits + offset / 8, bytes);
  auto b = std::make_shared<batch::Buffer>();
  b->ResizeZeroed(bytes);
  arrow::internal::CopyBitmap(bits, offset, length, b->data(), 0);
  return b;
}

}  // namespace

Result<std::shared_ptr<arrow::DataType>> ToArrowType(const types::DataType& type,
                                                     const std::string& column) {
  switch (type.id()) {
    case TypeId::kNull:
      return arrow::null();
    case TypeId::kBool:
      return arrow::boolean();
    case TypeId::kInt8:
      return arrow::int8();
    case TypeId::kInt16:
      return arrow::int16();
    case TypeId::kInt32:
      return arrow::int32();
    case TypeId::kInt64:
      return arrow::int64();
    case TypeId::kUInt8:
      return arrow::uint8();
    case TypeId::kUInt16:
      return arrow::uint16();
    case TypeId::kUInt32:
      return arrow::uint32();
    case TypeId::kUInt64:
      return arrow::uint64();
    case TypeId::kFloat32:
      return arrow::float32();
    case TypeId::kFloat64:
      return arrow::float64();
    case TypeId::kDecimal:
      return arrow::decimal128(type.precision(), type.scale());
    case TypeId::kUtf8:
    case TypeId::kJson:
      return arrow::utf8();
    case TypeId::kBinary:
      return arrow::binary();
    case TypeId::kDate:
      return arrow::date32();
    case TypeId::kTime:
      return arrow::time64(arrow::TimeUnit::MICRO);
    case TypeId::kTimestamp:
      return type.with_time_zone() ? arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")
                                   : arrow::timestamp(arrow::TimeUnit::MICRO);
    case TypeId::kInterval:
      return Status::NotSupported(
          "column '{}' is an INTERVAL, which Parquet cannot store; cast it to TEXT or to a "
          "number of seconds",
          column);
    case TypeId::kList: {
      SLUICE_ASSIGN_OR_RETURN(auto element, ToArrowType(type.element(), column + "[]"));
      return arrow::list(arrow::field("element", element));
    }
    case TypeId::kStruct: {
      arrow::FieldVector fields;
      for (const types::Field& f : type.fields()) {
        SLUICE_ASSIGN_OR_RETURN(auto t, ToArrowType(f.type, column + "." + f.name));
        fields.push_back(arrow::field(f.name, t));
      }
      return arrow::struct_(fields);
    }
  }
  return Status::NotSupported("column '{}' has type {}, which Parquet cannot store", column,
                              type.ToString());
}

std::shared_ptr<arrow::ArrayData> ToArrowData(const batch::ColumnPtr& c,
                                              const std::shared_ptr<arrow::DataType>& type) {
  const int64_t n = c->length;
  std::shared_ptr<arrow::Buffer> validity = c->validity ? Wrap(c->validity) : nullptr;
  const int64_t null_count = c->validity ? arrow::kUnknownNullCount : 0;
  switch (c->type.id()) {
    case TypeId::kNull:
      return arrow::ArrayData::Make(type, n, {nullptr}, n);
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
      return arrow::ArrayData::Make(type, n, {validity, Wrap(c->values), Wrap(c->data)},
                                    null_count);
    case TypeId::kList: {
      auto list = std::static_pointer_cast<arrow::ListType>(type);
      auto child = ToArrowData(c->children[0], list->value_type());
      return arrow::ArrayData::Make(type, n, {validity, Wrap(c->values)}, {child}, null_count);
    }
    case TypeId::kStruct: {
      std::vector<std::shared_ptr<arrow::ArrayData>> children;
      for (size_t i = 0; i < c->children.size(); ++i) {
        children.push_back(ToArrowData(c->children[i], type->field(static_cast<int>(i))->type()));
      }
      return arrow::ArrayData::Make(type, n, {validity}, children, null_count);
    }
    default:  // fixed width and bool
      return arrow::ArrayData::Make(type, n, {validity, Wrap(c->values)}, null_count);
  }
}

batch::ColumnPtr FromArrow(const arrow::ArrayData& a, const types::DataType& type) {
  const int64_t n = a.length;
  if (type.id() == TypeId::kNull || a.type->id() == arrow::Type::NA) {
    return batch::Column::MakeNull(type, n);
  }
  auto c = std::make_shared<batch::Column>();
  c->type = type;
  c->length = n;
  if (a.buffers[0] != nullptr && a.GetNullCount() > 0) {
    c->validity = CopyBitmap(a.buffers[0]->data(), a.offset, n);
  }
  switch (type.id()) {
    case TypeId::kBool:
      c->values = CopyBitmap(a.buffers[1]->data(), a.offset, n);
      break;
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      const int32_t* o = a.GetValues<int32_t>(1);
      const int32_t first = o[0];
      auto offsets = std::make_shared<batch::Buffer>(sizeof(int32_t) * static_cast<size_t>(n + 1));
      int32_t* out = offsets->as<int32_t>();
      for (int64_t i = 0; i <= n; ++i) out[i] = o[i] - first;
      c->values = offsets;
      const uint8_t* data = a.buffers[2] ? a.buffers[2]->data() : nullptr;
      c->data = CopyBytes(data ? data + first : nullptr, static_cast<size_t>(o[n] - first));
      break;
    }
    case TypeId::kList: {
      const int32_t* o = a.GetValues<int32_t>(1);
      const int32_t first = o[0];
      auto offsets = std::make_shared<batch::Buffer>(sizeof(int32_t) * static_cast<size_t>(n + 1));
      int32_t* out = offsets->as<int32_t>();
      for (int64_t i = 0; i <= n; ++i) out[i] = o[i] - first;
      c->values = offsets;
      auto child = a.child_data[0]->Slice(first, o[n] - first);
      c->children.push_back(FromArrow(*child, type.element()));
      break;
    }
    case TypeId::kStruct:
      for (size_t i = 0; i < type.fields().size(); ++i) {
        auto child = a.child_data[i]->Slice(a.offset, n);
        c->children.push_back(FromArrow(*child, type.fields()[i].type));
      }
      break;
    default: {
      const size_t width = static_cast<size_t>(type.byte_width());
      c->values = CopyBytes(a.buffers[1]->data() + static_cast<size_t>(a.offset) * width,
                            static_cast<size_t>(n) * width);
    }
  }
  return c;
}

Status FromArrowStatus(const arrow::Status& st, const std::string& what) {
  if (st.ok()) return Status::Ok();
  if (st.IsIOError()) return Status::Io("{}: {}", what, st.message());
  if (st.IsNotImplemented()) return Status::NotSupported("{}: {}", what, st.message());
  return Status::User("{}: {}", what, st.message());
}

}  // namespace parquet_internal
}  // namespace sluice::formats
