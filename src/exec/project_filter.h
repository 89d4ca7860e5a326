#pragma once
// The stateless operator: an optional filter followed by a projection, evaluated a batch at a
// time. Adjacent filters and projections of a query are merged into one instance by the
// optimizer, so a row is touched once.

#include <memory>
#include <string>
#include <vector>

#include "expr/bound_expr.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

class ProjectFilterFactory : public runtime::OperatorFactory {
 public:
  // `predicate` may be null (no filter); `projections` empty means "pass the columns through".
  ProjectFilterFactory(expr::BoundExprPtr predicate, std::vector<expr::BoundExprPtr> projections,
                       types::SchemaPtr output_schema);
  std::string name() const override;
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  expr::BoundExprPtr predicate_;
  std::vector<expr::BoundExprPtr> projections_;
  types::SchemaPtr output_schema_;
};

}  // namespace sluice::exec
