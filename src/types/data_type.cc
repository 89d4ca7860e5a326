#include "types/data_type.h"

#include <fmt/format.h>

namespace sluice::types {

DataType DataType::Decimal(int precision, int scale) {
  DataType t(TypeId::kDecimal);
  t.precision_ = precision;
  t.scale_ = scale;
  return t;
}

DataType DataType::List(DataType element) {
  DataType t(TypeId::kList);
  t.children_ = std::make_shared<const std::vector<Field>>(
      std::vector<Field>{Field{"item", std::move(element), true}});
  return t;
}

DataType DataType::Struct(std::vector<Field> fields) {
  DataType t(TypeId::kStruct);
  t.children_ = std::make_shared<const std::vector<Field>>(std::move(fields));
  return t;
}

DataType DataType::TimestampTz() {
  DataType t(TypeId::kTimestamp);
  t.with_time_zone_ = true;
  return t;
}

const std::vector<Field>& DataType::fields() const {
  static const std::vector<Field> kEmpty;
  return children_ ? *children_ : kEmpty;
}

const DataType& DataType::element() const {
  return fields().at(0).type;
}

bool DataType::is_integer() const {
  return is_signed_integer() || is_unsigned_integer();
}
bool DataType::is_signed_integer() const {
  return id_ == TypeId::kInt8 || id_ == TypeId::kInt16 || id_ == TypeId::kInt32 ||
         id_ == TypeId::kInt64;
}
bool DataType::is_unsigned_integer() const {
  return id_ == TypeId::kUInt8 || id_ == TypeId::kUInt16 || id_ == TypeId::kUInt32 ||
         id_ == TypeId::kUInt64;
}

int DataType::byte_width() const {
  switch (id_) {
    case TypeId::kInt8:
    case TypeId::kUInt8:
      return 1;
    case TypeId::kInt16:
    case TypeId::kUInt16:
      return 2;
    case TypeId::kInt32:
    case TypeId::kUInt32:
    case TypeId::kFloat32:
    case TypeId::kDate:
      return 4;
    case TypeId::kInt64:
    case TypeId::kUInt64:
    case TypeId::kFloat64:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return 8;
    case TypeId::kDecimal:
    case TypeId::kInterval:
      return 16;
    default:
      return 0;
  }
}

std::string DataType::ToString() const {
  switch (id_) {
    case TypeId::kNull:
      return "NULL";
    case TypeId::kBool:
      return "BOOLEAN";
    case TypeId::kInt8:
      return "TINYINT";
    case TypeId::kInt16:
      return "SMALLINT";
    case TypeId::kInt32:
      return "INT";
    case TypeId::kInt64:
      return "BIGINT";
    case TypeId::kUInt8:
      return "TINYINT UNSIGNED";
    case TypeId::kUInt16:
      return "SMALLINT UNSIGNED";
    case TypeId::kUInt32:
      return "INT UNSIGNED";
    case TypeId::kUInt64:
      return "BIGINT UNSIGNED";
    case TypeId::kFloat32:
      return "REAL";
    case TypeId::kFloat64:
      return "DOUBLE";
    case TypeId::kDecimal:
      return fmt::format("DECIMAL({}, {})", precision_, scale_);
    case TypeId::kUtf8:
      return "TEXT";
    case TypeId::kJson:
      return "JSON";
    case TypeId::kBinary:
      return "BYTEA";
    case TypeId::kDate:
      return "DATE";
    case TypeId::kTime:
      return "TIME";
    case TypeId::kTimestamp:
      return with_time_zone_ ? "TIMESTAMPTZ" : "TIMESTAMP";
    case TypeId::kInterval:
      return "INTERVAL";
    case TypeId::kList:
      return element().ToString() + "[]";
    case TypeId::kStruct: {
      std::string s = "STRUCT<";
      for (size_t i = 0; i < fields().size(); ++i) {
        if (i) s += ", ";
        s += fields()[i].name + " " + fields()[i].type.ToString();
      }
      return s + ">";
    }
  }
  return "?";
}

bool DataType::operator==(const DataType& other) const {
  if (id_ != other.id_) return false;
  if (id_ == TypeId::kDecimal) return precision_ == other.precision_ && scale_ == other.scale_;
  if (is_nested()) return fields() == other.fields();
  return with_time_zone_ == other.with_time_zone_;
}

}  // namespace sluice::types
