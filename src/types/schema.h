#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "types/data_type.h"

namespace sluice::types {

// An ordered list of named, typed columns. Immutable once shared.
class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}
  const std::vector<Field>& fields() const { return fields_; }
  const Field& field(size_t i) const { return fields_[i]; }
  size_t size() const { return fields_.size(); }
  // Case-insensitive lookup (SQL identifiers are folded to lower case).
  std::optional<size_t> Find(const std::string& name) const;
  std::string ToString() const;

 private:
  std::vector<Field> fields_;
};

using SchemaPtr = std::shared_ptr<const Schema>;

}  // namespace sluice::types
