// preview: where the rows of a bare SELECT go; JSON lines on standard output (a Debezium
// changelog for updating queries).

#include "connectors/connector.h"
#include "connectors/stdout_sink.h"

namespace sluice::connectors {

namespace {

class PreviewConnector : public Connector {
 public:
  std::string name() const override { return "preview"; }
  bool can_source() const override { return false; }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return {}; }

  Status Validate(TableSpec* spec) const override {
    if (spec->format.format.empty()) spec->format.format = "json";
    if (spec->format.format != "json" && spec->format.format != "debezium_json") {
      return Status::User("the preview sink writes JSON; format '{}' is not available",
                          spec->format.format);
    }
    if (spec->schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec->format, spec->schema).status());
    }
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    TableSpec copy = spec;
    if (copy.format.format != "debezium_json") copy.format.format = "json";
    if (copy.schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(copy.format, copy.schema).status());
    }
    return MakeStdoutSinkFactory(copy, name());
  }
};

}  // namespace

std::unique_ptr<Connector> MakePreviewConnector() {
  return std::make_unique<PreviewConnector>();
}

}  // namespace sluice::connectors
