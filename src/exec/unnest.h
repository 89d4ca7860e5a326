#pragma once
// UNNEST(array) in a select list: each input row becomes one row per element of its array
// column (none for an empty or NULL array). The output is the input's columns followed by the
// element. Stateless; change kinds and event times are carried to every element's row.

#include <memory>
#include <string>

#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

class UnnestFactory : public runtime::OperatorFactory {
 public:
  UnnestFactory(int list_column, types::SchemaPtr output_schema)
      : list_column_(list_column), output_schema_(std::move(output_schema)) {}
  std::string name() const override { return "unnest"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  int list_column_;
  types::SchemaPtr output_schema_;
};

}  // namespace sluice::exec
