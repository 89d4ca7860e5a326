#pragma once
// YAML for the Kubernetes manifests (docs/kubernetes.md): writing a JSON value as block-style
// YAML, and reading a YAML or JSON document (a pod template) into a JSON value with libyaml.
//
// Pure functions, no shared state.

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/status.h"

namespace sluice::k8s {

// Block-style YAML of `value`: mappings and sequences indented by two, strings with newlines
// as literal blocks (`|`), other strings JSON-quoted (a valid YAML double-quoted scalar), so
// nothing is ever read back as another type ("on", "1.0", "null" stay strings).
std::string ToYaml(const boost::json::value& value);

// Reads one YAML (1.1/1.2 core schema) or JSON document. Plain scalars become null, booleans,
// integers or doubles when they read as such, else strings; quoted scalars are strings.
// Anchors, aliases, tags and several documents are refused. Errors name `what`, the line and
// the column.
Result<boost::json::value> ParseYaml(std::string_view text, std::string_view what);

}  // namespace sluice::k8s
