#include "sql/binder/catalog.h"

namespace sluice::sql {

const CatalogEntry* Catalog::Find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

CatalogEntry* Catalog::FindMutable(const std::string& name) {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

bool Catalog::Add(CatalogEntry entry) {
  std::string name = entry.name;
  return entries_.emplace(name, std::move(entry)).second;
}

std::vector<std::string> Catalog::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

}  // namespace sluice::sql
