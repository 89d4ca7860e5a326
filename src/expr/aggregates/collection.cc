// Aggregates that keep input values: first_value, last_value, array_agg, string_agg, and the
// exact percentiles median and percentile_cont.
//
// Order-dependent aggregates see rows in arrival order: row order within a batch, batches in
// the order Update is called. Merge(other, src, dst) treats dst as the earlier part and src
// as the later one, so merging panes oldest first keeps arrival order.

#include <algorithm>
#include <cmath>

#include "expr/aggregates/aggregate_internal.h"
#include "expr/aggregates/state_codec.h"
#include "expr/aggregates/value_codec.h"
#include "expr/cast.h"

namespace sluice::expr {
namespace {

int64_t StringBytes(const std::string& s) {
  return s.capacity() > 15 ? static_cast<int64_t>(s.capacity()) : 0;  // beyond the inline buffer
}

// ---------------------------------------------------------------------------------------------
// first_value, last_value: the value of the first (last) row, NULL included, as DataFusion.
// A group's value is kept encoded; an empty string means "no row yet" (an encoding is never
// empty: it starts with a NULL flag).

// Checkpoints: the encoding, length-prefixed (empty for no row).
struct EncodedValueCodec {
  DataType type;
  std::string_view name() const { return "first_value/last_value"; }
  void Encode(const std::string& slot, std::string* out) const { PutBytes(out, slot); }
  bool Decode(SlotReader* in, std::string* slot) const {
    std::string_view bytes;
    if (!in->Bytes(&bytes)) return false;
    if (!bytes.empty()) {
      SlotReader value(bytes);
      if (!SkipEncodedValue(type, &value) || !value.empty()) return false;
    }
    slot->assign(bytes);
    return true;
  }
};

template <bool kLast>
class EdgeValueState final : public CodedSlotState<std::string, EncodedValueCodec> {
 public:
  explicit EdgeValueState(DataType type) : CodedSlotState({type}), type_(std::move(type)) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("first_value/last_value: missing argument");
    const Column& a = *args[0];
    for (int64_t i = 0; i < n; ++i) {
      std::string& slot = slots_[groups[i]];
      if (kLast) {
        slot.clear();
        EncodeValue(a, i, &slot);
      } else if (slot.empty()) {
        EncodeValue(a, i, &slot);
      }
    }
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const std::string& from = Same<EdgeValueState>(other).slots_[src];
    if (from.empty()) return;
    if (kLast || slots_[dst].empty()) slots_[dst] = from;
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    ColumnBuilder b(type_);
    b.Reserve(n);
    for (int64_t j = 0; j < n; ++j) {
      std::string_view encoded = slots_[groups[j]];
      if (encoded.empty()) {
        b.AppendNull();
      } else {
        DecodeValue(&encoded, &b);
      }
    }
    return b.Finish();
  }

 protected:
  int64_t ExtraBytes() const override {
    int64_t bytes = 0;
    for (const auto& s : slots_) bytes += StringBytes(s);
    return bytes;
  }

 private:
  DataType type_;
};

// ---------------------------------------------------------------------------------------------
// array_agg: every input value, NULLs included, in arrival order; NULL for no rows.

struct ListSlot {
  std::string encoded;  // the values, one EncodeValue after another
  int64_t count = 0;
};

// Checkpoints: the count, then the encodings (checked to be exactly `count` element values).
struct ListCodec {
  DataType element;
  std::string_view name() const { return "array_agg"; }
  void Encode(const ListSlot& slot, std::string* out) const {
    PutVarint(out, static_cast<uint64_t>(slot.count));
    PutBytes(out, slot.encoded);
  }
  bool Decode(SlotReader* in, ListSlot* slot) const {
    uint64_t count = 0;
    std::string_view bytes;
    if (!in->Varint(&count) || !in->Bytes(&bytes) || count > bytes.size()) return false;
    SlotReader values(bytes);
    for (uint64_t k = 0; k < count; ++k) {
      if (!SkipEncodedValue(element, &values)) return false;
    }
    if (!values.empty()) return false;
    slot->encoded.assign(bytes);
    slot->count = static_cast<int64_t>(count);
    return true;
  }
};

class ArrayAggState final : public CodedSlotState<ListSlot, ListCodec> {
 public:
  explicit ArrayAggState(DataType list_type)
      : CodedSlotState({list_type.element()}), list_type_(std::move(list_type)) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("array_agg: missing argument");
    const Column& a = *args[0];
    for (int64_t i = 0; i < n; ++i) {
      ListSlot& slot = slots_[groups[i]];
      EncodeValue(a, i, &slot.encoded);
      ++slot.count;
    }
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const ListSlot& from = Same<ArrayAggState>(other).slots_[src];
    if (from.count == 0) return;
    if (&from == &slots_[dst]) {  // merging a group into itself: append a copy
      ListSlot copy = from;
      Append(copy, &slots_[dst]);
    } else {
      Append(from, &slots_[dst]);
    }
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    ColumnBuilder b(list_type_);
    b.Reserve(n);
    for (int64_t j = 0; j < n; ++j) {
      const ListSlot& slot = slots_[groups[j]];
      if (slot.count == 0) {
        b.AppendNull();
        continue;
      }
      std::string_view encoded = slot.encoded;
      for (int64_t k = 0; k < slot.count; ++k) DecodeValue(&encoded, b.element_builder());
      b.FinishListRow();
    }
    return b.Finish();
  }

 protected:
  int64_t ExtraBytes() const override {
    int64_t bytes = 0;
    for (const auto& s : slots_) bytes += StringBytes(s.encoded);
    return bytes;
  }

 private:
  static void Append(const ListSlot& from, ListSlot* to) {
    to->encoded += from.encoded;
    to->count += from.count;
  }
  DataType list_type_;
};

// ---------------------------------------------------------------------------------------------
// string_agg(value, delimiter): the non-NULL values joined by a constant delimiter.

struct TextSlot {
  std::string text;
  bool has = false;
};

// Checkpoints: a has-value byte, then the text so far.
struct TextCodec {
  std::string_view name() const { return "string_agg"; }
  void Encode(const TextSlot& slot, std::string* out) const {
    out->push_back(slot.has ? '\1' : '\0');
    if (slot.has) PutBytes(out, slot.text);
  }
  bool Decode(SlotReader* in, TextSlot* slot) const {
    uint8_t has = 0;
    if (!in->Fixed(&has) || has > 1) return false;
    slot->has = has != 0;
    if (!slot->has) return true;
    std::string_view text;
    if (!in->Bytes(&text)) return false;
    slot->text.assign(text);
    return true;
  }
};

class StringAggState final : public CodedSlotState<TextSlot, TextCodec> {
 public:
  StringAggState(DataType type, std::string delimiter)
      : CodedSlotState({}), type_(std::move(type)), delimiter_(std::move(delimiter)) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("string_agg: missing argument");
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();
    ForEachValid(a, n, [&](int64_t i) { Append(a.GetString(i), &slots_[groups[i]]); });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const TextSlot& from = Same<StringAggState>(other).slots_[src];
    if (!from.has) return;
    if (&from == &slots_[dst]) {
      std::string copy = from.text;
      Append(copy, &slots_[dst]);
    } else {
      Append(from.text, &slots_[dst]);
    }
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    ColumnBuilder b(type_);
    b.Reserve(n);
    for (int64_t j = 0; j < n; ++j) {
      const TextSlot& slot = slots_[groups[j]];
      if (slot.has) {
        b.AppendString(slot.text);
      } else {
        b.AppendNull();
      }
    }
    return b.Finish();
  }

 protected:
  int64_t ExtraBytes() const override {
    int64_t bytes = 0;
    for (const auto& s : slots_) bytes += StringBytes(s.text);
    return bytes;
  }

 private:
  void Append(std::string_view s, TextSlot* slot) const {
    if (slot->has) slot->text += delimiter_;
    slot->text += s;
    slot->has = true;
  }
  DataType type_;
  std::string delimiter_;
};

// ---------------------------------------------------------------------------------------------
// median and percentile_cont: exact, keeping every non-NULL value of the group (so they can
// also retract one).

// PostgreSQL's percentile_cont over values sorted ascending: linear interpolation between the
// two values around position fraction * (n - 1).
double InterpolateSorted(const std::vector<double>& sorted, double fraction) {
  double pos = fraction * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - static_cast<double>(lo);
  if (frac == 0) return sorted[lo];
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

// Checkpoints: the count, then the values (8 bytes each, in the order held).
struct DoublesCodec {
  std::string_view name() const { return "median/percentile_cont"; }
  void Encode(const std::vector<double>& values, std::string* out) const {
    PutVarint(out, values.size());
    out->append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
  }
  bool Decode(SlotReader* in, std::vector<double>* values) const {
    uint64_t count = 0;
    std::string_view bytes;
    if (!in->Count(&count, sizeof(double)) ||
        !in->Raw(static_cast<size_t>(count) * sizeof(double), &bytes)) {
      return false;
    }
    values->resize(static_cast<size_t>(count));
    if (count > 0) std::memcpy(values->data(), bytes.data(), bytes.size());
    return true;
  }
};

class PercentileState final : public CodedSlotState<std::vector<double>, DoublesCodec> {
 public:
  explicit PercentileState(double fraction) : CodedSlotState({}), fraction_(fraction) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("percentile: missing argument");
    const Column& a = *args[0];
    const double* v = a.raw<double>();
    ForEachValid(a, n, [&](int64_t i) { slots_[groups[i]].push_back(v[i]); });
    return Status::Ok();
  }
  // Removes one copy of each value: a scan of the group's values, which Finalize sorts anyway.
  // A value the group does not hold is ignored.
  bool retractable() const override { return true; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("percentile: missing argument");
    const Column& a = *args[0];
    const double* v = a.raw<double>();
    ForEachValid(a, n, [&](int64_t i) {
      std::vector<double>& values = slots_[groups[i]];
      double x = v[i];
      auto it = std::find_if(values.begin(), values.end(),
                             [x](double y) { return y == x || (y != y && x != x); });
      if (it == values.end()) return;
      *it = values.back();
      values.pop_back();
    });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const std::vector<double>& from = Same<PercentileState>(other).slots_[src];
    if (&from == &slots_[dst]) {
      std::vector<double> copy = from;
      slots_[dst].insert(slots_[dst].end(), copy.begin(), copy.end());
    } else {
      slots_[dst].insert(slots_[dst].end(), from.begin(), from.end());
    }
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    std::vector<double> sorted;
    return MakeFixedResult<double>(types::Float64(), groups, n, [&](uint32_t g, double* out) {
      if (slots_[g].empty()) return false;
      sorted = slots_[g];
      std::sort(sorted.begin(), sorted.end(), FloatLess<double>);
      *out = InterpolateSorted(sorted, fraction_);
      return true;
    });
  }

 protected:
  int64_t ExtraBytes() const override {
    int64_t bytes = 0;
    for (const auto& v : slots_) bytes += static_cast<int64_t>(v.capacity() * sizeof(double));
    return bytes;
  }

 private:
  double fraction_;
};

// ---------------------------------------------------------------------------------------------
// Bind callbacks

Result<BoundAggregate> BindEdgeValue(const std::string& name, const AggregateBindInput& in,
                                     bool last) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "one value of any type"));
  DataType t = in.types[0];
  if (last) {
    return MakeBound({t}, t,
                     MakeFunction([t] { return std::make_unique<EdgeValueState<true>>(t); }));
  }
  return MakeBound({t}, t,
                   MakeFunction([t] { return std::make_unique<EdgeValueState<false>>(t); }));
}

Result<BoundAggregate> BindArrayAgg(const std::string& name, const AggregateBindInput& in) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "one value of any type"));
  DataType t = in.types[0];
  DataType list = DataType::List(t);
  return MakeBound({t}, list,
                   MakeFunction([list] { return std::make_unique<ArrayAggState>(list); }));
}

Result<BoundAggregate> BindStringAgg(const std::string& name, const AggregateBindInput& in) {
  const char* accepted = "(TEXT, TEXT) or (BYTEA, BYTEA) with a constant delimiter";
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 2, accepted));
  auto textual = [](const DataType& t) {
    return t.id() == TypeId::kUtf8 || t.id() == TypeId::kJson || t.id() == TypeId::kNull;
  };
  DataType t;
  if (textual(in.types[0]) && textual(in.types[1])) {
    t = types::Utf8();
  } else if ((in.types[0].id() == TypeId::kBinary || in.types[0].id() == TypeId::kNull) &&
             (in.types[1].id() == TypeId::kBinary || in.types[1].id() == TypeId::kNull)) {
    t = DataType(TypeId::kBinary);
  } else {
    return NoMatchingAggregate(name, in, accepted);
  }
  const std::optional<Value>* delimiter = ConstantArg(in, 1);
  if (delimiter == nullptr) {
    return Status::NotSupported("{}: the delimiter must be a constant", name);
  }
  // A NULL delimiter joins with nothing in between, as in PostgreSQL.
  std::string d = (*delimiter)->is_null() ? "" : (*delimiter)->string_value();
  return MakeBound({t, t}, t,
                   MakeFunction([t, d] { return std::make_unique<StringAggState>(t, d); }));
}

// A constant fraction in [0, 1] from argument i (for percentile_cont and
// approx_percentile_cont).
Result<double> FractionArg(const std::string& name, const AggregateBindInput& in, size_t i) {
  const std::optional<Value>* c = ConstantArg(in, i);
  if (c == nullptr || (*c)->is_null() || !(*c)->type().is_numeric()) {
    return Status::User("{}: the percentile must be a constant number between 0 and 1", name);
  }
  auto as_double = CastValue(**c, types::Float64());
  if (!as_double.ok()) return as_double.status();
  double f = as_double->double_value();
  if (!(f >= 0 && f <= 1)) {
    return Status::User("{}: percentile value {} is not between 0 and 1", name, f);
  }
  return f;
}

Result<BoundAggregate> BindMedian(const std::string& name, const AggregateBindInput& in) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "numbers"));
  if (!in.types[0].is_numeric() && in.types[0].id() != TypeId::kNull) {
    return NoMatchingAggregate(name, in, "numbers");
  }
  return MakeBound({types::Float64()}, types::Float64(),
                   MakeFunction([] { return std::make_unique<PercentileState>(0.5); }));
}

Result<BoundAggregate> BindPercentileCont(const std::string& name, const AggregateBindInput& in) {
  const char* accepted = "(number, constant fraction between 0 and 1)";
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 2, accepted));
  if ((!in.types[0].is_numeric() && in.types[0].id() != TypeId::kNull) ||
      !in.types[1].is_numeric()) {
    return NoMatchingAggregate(name, in, accepted);
  }
  SLUICE_ASSIGN_OR_RETURN(double f, FractionArg(name, in, 1));
  return MakeBound({types::Float64(), types::Float64()}, types::Float64(),
                   MakeFunction([f] { return std::make_unique<PercentileState>(f); }));
}

}  // namespace

Result<double> PercentileFractionArg(const std::string& name, const AggregateBindInput& in,
                                     size_t i) {
  return FractionArg(name, in, i);
}

void RegisterCollectionAggregates(AggregateDefinitions* defs) {
  defs->push_back({"first_value", [](const std::string& name, const AggregateBindInput& in) {
                     return BindEdgeValue(name, in, false);
                   }});
  defs->push_back({"last_value", [](const std::string& name, const AggregateBindInput& in) {
                     return BindEdgeValue(name, in, true);
                   }});
  defs->push_back({"array_agg", BindArrayAgg});
  defs->push_back({"string_agg", BindStringAgg});
  defs->push_back({"median", BindMedian});
  defs->push_back({"percentile_cont", BindPercentileCont});
}

}  // namespace sluice::expr
