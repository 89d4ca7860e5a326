#include "udf/native_aggregate.h"

#include <dlfcn.h>

#include <cstring>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "udf/arrow_bridge.h"
#include "udf/cpp_glue.h"
#include "udf/crash_guard.h"

namespace sluice::udf {

namespace {

using batch::ColumnPtr;

struct Library {
  std::string name;
  const SluiceUdafVTable* vtable = nullptr;
  types::DataType return_type;
};

// Calls one vtable entry under a crash guard; a failure names the aggregate.
template <typename F>
Status Call(const Library& lib, F&& f) {
  char error[1024];
  error[0] = '\0';
  int32_t rc = 0;
  {
    CrashGuard guard(lib.name.c_str());
    rc = f(error, static_cast<int64_t>(sizeof(error)));
  }
  if (rc == 0) return Status::Ok();
  error[sizeof(error) - 1] = '\0';
  return Status::User("user-defined aggregate {}() failed: {}", lib.name,
                      error[0] ? error : "(no message)");
}

class NativeAggregateState final : public expr::AggregateState {
 public:
  explicit NativeAggregateState(std::shared_ptr<const Library> lib)
      : lib_(std::move(lib)), states_(lib_->vtable->create()) {
    if (states_ == nullptr) throw std::bad_alloc();
  }
  ~NativeAggregateState() override { lib_->vtable->destroy(states_); }

  void Resize(int64_t groups) override {
    if (groups <= groups_) return;
    Status st = Call(
        *lib_, [&](char* e, int64_t cap) { return lib_->vtable->resize(states_, groups, e, cap); });
    if (!st.ok()) throw std::bad_alloc();
    groups_ = groups;
  }
  int64_t num_groups() const override { return groups_; }

  Status Update(std::span<const ColumnPtr> args, const uint32_t* group_ids, int64_t n) override {
    return Apply(args, group_ids, n, 0);
  }
  bool retractable() const override { return (lib_->vtable->flags & SLUICE_UDAF_RETRACTABLE) != 0; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* group_ids, int64_t n) override {
    if (!retractable()) {
      return Status::NotSupported(
          "aggregate {}() cannot retract rows: give its struct a "
          "retract() that undoes update()",
          lib_->name);
    }
    return Apply(args, group_ids, n, 1);
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const auto& o = static_cast<const NativeAggregateState&>(other);
    Status st = Call(*lib_, [&](char* e, int64_t cap) {
      return lib_->vtable->merge(states_, o.states_, src, dst, e, cap);
    });
    // Merge cannot fail in the AggregateState interface: the error surfaces at Finalize.
    if (!st.ok() && deferred_.ok()) deferred_ = st;
  }
  void Clear(uint32_t g) override { lib_->vtable->clear(states_, g); }

  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    if (!deferred_.ok()) return deferred_;
    ResultArray result(lib_->return_type, n);
    SLUICE_RETURN_NOT_OK(Call(*lib_, [&](char* e, int64_t cap) {
      return lib_->vtable->finish(states_, result.host(), groups, n, result.array(), e, cap);
    }));
    return result.Finish(lib_->name);
  }
  int64_t MemoryBytes() const override { return lib_->vtable->memory(states_); }

  bool serializable() const override { return true; }
  Status SerializeEachGroup(const uint32_t* groups, int64_t n,
                            batch::ColumnBuilder* out) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr bytes, SerializedStates(groups, n));
    for (int64_t i = 0; i < n; ++i) out->AppendString(bytes->GetString(i));
    return Status::Ok();
  }
  Status DeserializeEachGroup(const batch::Column& values, const int32_t* rows,
                              const uint32_t* groups, int64_t n) override {
    if (values.type.id() != types::TypeId::kBinary && !values.type.is_string_like()) {
      return Status::Internal("aggregate states of {}() are not a BYTEA column", lib_->name);
    }
    auto column = std::make_shared<batch::Column>(values);
    ColumnPtr shared = column;
    ArgumentArrays in(std::span<const ColumnPtr>(&shared, 1));
    return Call(*lib_, [&](char* e, int64_t cap) {
      return lib_->vtable->deserialize(states_, in.data()[0], rows, groups, n, e, cap);
    });
  }
  // One string for n groups: each group's bytes after their length (8 bytes, little-endian).
  Status SerializeGroups(const uint32_t* groups, int64_t n, std::string* out) const override {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr bytes, SerializedStates(groups, n));
    for (int64_t i = 0; i < n; ++i) {
      std::string_view b = bytes->GetString(i);
      uint64_t len = b.size();
      out->append(reinterpret_cast<const char*>(&len), sizeof(len));
      out->append(b);
    }
    return Status::Ok();
  }
  Status DeserializeGroups(std::string_view in, const uint32_t* groups, int64_t n) override {
    batch::ColumnBuilder builder(types::DataType(types::TypeId::kBinary));
    for (int64_t i = 0; i < n; ++i) {
      uint64_t len = 0;
      if (in.size() < sizeof(len))
        return Status::User("corrupt state of aggregate {}()", lib_->name);
      std::memcpy(&len, in.data(), sizeof(len));
      in.remove_prefix(sizeof(len));
      if (in.size() < len) return Status::User("corrupt state of aggregate {}()", lib_->name);
      builder.AppendString(in.substr(0, len));
      in.remove_prefix(len);
    }
    if (!in.empty()) return Status::User("corrupt state of aggregate {}()", lib_->name);
    ColumnPtr column = builder.Finish();
    return DeserializeEachGroup(*column, nullptr, groups, n);
  }

 private:
  Status Apply(std::span<const ColumnPtr> args, const uint32_t* group_ids, int64_t n,
               int32_t retract) {
    ArgumentArrays in(args);
    return Call(*lib_, [&](char* e, int64_t cap) {
      return lib_->vtable->update(states_, in.data(), in.size(), group_ids, n, retract, e, cap);
    });
  }
  Result<ColumnPtr> SerializedStates(const uint32_t* groups, int64_t n) const {
    ResultArray result(types::DataType(types::TypeId::kBinary), n);
    SLUICE_RETURN_NOT_OK(Call(*lib_, [&](char* e, int64_t cap) {
      return lib_->vtable->serialize(states_, result.host(), groups, n, result.array(), e, cap);
    }));
    return result.Finish(lib_->name);
  }

  std::shared_ptr<const Library> lib_;
  void* states_;
  int64_t groups_ = 0;
  Status deferred_;
};

class NativeAggregateFunction final : public expr::AggregateFunction {
 public:
  explicit NativeAggregateFunction(std::shared_ptr<const Library> lib) : lib_(std::move(lib)) {}
  std::unique_ptr<expr::AggregateState> NewState() const override {
    return std::make_unique<NativeAggregateState>(lib_);
  }

 private:
  std::shared_ptr<const Library> lib_;
};

}  // namespace

Result<LoadedAggregate> LoadCppAggregate(const FunctionSignature& sig, const std::string& source) {
  SLUICE_ASSIGN_OR_RETURN(std::string unit, GenerateCppAggregateSource(sig, source));
  SLUICE_ASSIGN_OR_RETURN(void* handle, CompileAndOpen(sig, unit, ExpectedAggregateForm(sig)));
  auto vtable_fn = reinterpret_cast<SluiceUdafVTableFn>(dlsym(handle, "sluice_udaf_vtable"));
  const SluiceUdafVTable* vtable = vtable_fn ? vtable_fn() : nullptr;
  if (vtable == nullptr || vtable->abi_version < SLUICE_UDF_ABI_MIN_VERSION ||
      vtable->abi_version > SLUICE_UDF_ABI_VERSION) {
    return Status::Io(
        "the compiled library of aggregate {} has no sluice_udaf_vtable of ABI "
        "version {}",
        sig.name, SLUICE_UDF_ABI_VERSION);
  }
  InstallCrashHandlers();
  auto lib = std::make_shared<Library>();
  lib->name = sig.name;
  lib->vtable = vtable;
  lib->return_type = sig.return_type;
  LoadedAggregate loaded;
  loaded.retractable = (vtable->flags & SLUICE_UDAF_RETRACTABLE) != 0;
  loaded.function = std::make_shared<NativeAggregateFunction>(std::move(lib));
  return loaded;
}

}  // namespace sluice::udf
