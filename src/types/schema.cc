#include "types/schema.h"

#include <strings.h>

namespace sluice::types {

std::optional<size_t> Schema::Find(const std::string& name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (strcasecmp(fields_[i].name.c_str(), name.c_str()) == 0) return i;
  }
  return std::nullopt;
}

std::string Schema::ToString() const {
  std::string s = "(";
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (i) s += ", ";
    s += fields_[i].name + " " + fields_[i].type.ToString();
  }
  return s + ")";
}

}  // namespace sluice::types
