#include "batch/column_builder.h"

#include <cstring>

#include "common/check.h"

namespace sluice::batch {

using types::Value;

ColumnBuilder::ColumnBuilder(DataType type) : type_(std::move(type)) {
  Init();
}

void ColumnBuilder::Init() {
  length_ = 0;
  validity_.reset();
  values_ = std::make_shared<Buffer>();
  data_.reset();
  children_.clear();
  switch (type_.id()) {
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      data_ = std::make_shared<Buffer>();
      int32_t zero = 0;
      values_->Append(&zero, sizeof(zero));
      break;
    }
    case TypeId::kList: {
      int32_t zero = 0;
      values_->Append(&zero, sizeof(zero));
      children_.push_back(std::make_unique<ColumnBuilder>(type_.element()));
      break;
    }
    case TypeId::kStruct:
      for (const auto& f : type_.fields()) {
        children_.push_back(std::make_unique<ColumnBuilder>(f.type));
      }
      break;
    default:
      break;
  }
}

void ColumnBuilder::Reserve(int64_t rows) {
  switch (type_.id()) {
    case TypeId::kBool:
      values_->Reserve(BitmapBytes(rows));
      break;
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
    case TypeId::kList:
      values_->Reserve(sizeof(int32_t) * (rows + 1));
      break;
    case TypeId::kStruct:
    case TypeId::kNull:
      break;
    default:
      values_->Reserve(static_cast<size_t>(type_.byte_width()) * rows);
      break;
  }
}

void ColumnBuilder::AppendNull() {
  if (!validity_) {
    validity_ = std::make_shared<Buffer>();
    validity_->ResizeZeroed(BitmapBytes(length_ + 1));
    if (length_ > 0) {
      std::memset(validity_->data(), 0xff, static_cast<size_t>(length_ / 8));
      for (int64_t i = (length_ / 8) * 8; i < length_; ++i) SetBit(validity_->data(), i);
    }
  } else if ((length_ & 7) == 0) {
    validity_->Append("\0", 1);
  }
  ClearBit(validity_->data(), length_);
  switch (type_.id()) {
    case TypeId::kNull:
      break;
    case TypeId::kBool:
      if ((length_ & 7) == 0) values_->Append("\0", 1);
      break;
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      int32_t end = static_cast<int32_t>(data_->size());
      values_->Append(&end, sizeof(end));
      break;
    }
    case TypeId::kList: {
      int32_t end = static_cast<int32_t>(children_[0]->length());
      values_->Append(&end, sizeof(end));
      break;
    }
    case TypeId::kStruct:
      for (auto& c : children_) c->AppendNull();
      break;
    default: {
      uint8_t zeros[16] = {};
      values_->Append(zeros, static_cast<size_t>(type_.byte_width()));
      break;
    }
  }
  ++length_;
}

void ColumnBuilder::AppendValue(const Value& value) {
  if (value.is_null()) {
    AppendNull();
    return;
  }
  switch (type_.id()) {
    case TypeId::kNull:
      AppendNull();
      break;
    case TypeId::kBool:
      AppendBool(value.bool_value());
      break;
    case TypeId::kInt8:
      AppendFixed<int8_t>(static_cast<int8_t>(value.int_value()));
      break;
    case TypeId::kInt16:
      AppendFixed<int16_t>(static_cast<int16_t>(value.int_value()));
      break;
    case TypeId::kInt32:
    case TypeId::kDate:
      AppendFixed<int32_t>(static_cast<int32_t>(value.int_value()));
      break;
    case TypeId::kInt64:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      AppendFixed<int64_t>(value.int_value());
      break;
    case TypeId::kUInt8:
      AppendFixed<uint8_t>(static_cast<uint8_t>(value.uint_value()));
      break;
    case TypeId::kUInt16:
      AppendFixed<uint16_t>(static_cast<uint16_t>(value.uint_value()));
      break;
    case TypeId::kUInt32:
      AppendFixed<uint32_t>(static_cast<uint32_t>(value.uint_value()));
      break;
    case TypeId::kUInt64:
      AppendFixed<uint64_t>(value.uint_value());
      break;
    case TypeId::kFloat32:
      AppendFixed<float>(static_cast<float>(value.double_value()));
      break;
    case TypeId::kFloat64:
      AppendFixed<double>(value.double_value());
      break;
    case TypeId::kDecimal:
      AppendFixed<types::int128_t>(value.decimal_value());
      break;
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
      AppendString(value.string_value());
      break;
    case TypeId::kInterval:
      AppendFixed<types::Interval>(value.interval_value());
      break;
    case TypeId::kList:
      for (const auto& item : value.children()) children_[0]->AppendValue(item);
      FinishListRow();
      break;
    case TypeId::kStruct:
      for (size_t i = 0; i < children_.size(); ++i) {
        children_[i]->AppendValue(value.children()[i]);
      }
      FinishStructRow();
      break;
  }
}

ColumnPtr ColumnBuilder::Finish() {
  auto c = std::make_shared<Column>();
  c->type = type_;
  c->length = length_;
  c->validity = validity_;
  if (type_.id() != TypeId::kStruct && type_.id() != TypeId::kNull) c->values = values_;
  c->data = data_;
  for (auto& child : children_) c->children.push_back(child->Finish());
  Init();
  return c;
}

}  // namespace sluice::batch
