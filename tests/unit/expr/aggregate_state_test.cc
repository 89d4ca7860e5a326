// Checkpointing aggregate states: SerializeGroups then DeserializeGroups into a fresh state (at
// other group ids) gives the same results, for every aggregate of the registry.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "expr/aggregate.h"

namespace sluice::expr {
namespace {

using batch::ColumnBuilder;
using batch::ColumnPtr;

std::unique_ptr<AggregateState> NewState(const std::string& name, const types::DataType& type,
                                         bool retracting) {
  AggregateBindInput in;
  in.types = {type};
  in.constants = {std::nullopt};
  in.retracting = retracting;
  auto bound = AggregateRegistry::Get().Bind(name, in);
  EXPECT_TRUE(bound.ok()) << name << ": " << bound.status().ToString();
  return bound->function->NewState();
}

std::string Final(const AggregateState& s, const std::vector<uint32_t>& groups) {
  auto c = s.Finalize(groups.data(), static_cast<int64_t>(groups.size()));
  EXPECT_TRUE(c.ok());
  std::string out;
  for (int64_t i = 0; i < (*c)->length; ++i) out += (*c)->GetValue(i).ToString() + ";";
  return out;
}

void ExpectRoundTrip(const std::string& name, const types::DataType& type, bool retracting) {
  auto state = NewState(name, type, retracting);
  ASSERT_TRUE(state->serializable()) << name;
  ColumnBuilder b(type);
  std::vector<uint32_t> groups;
  for (int i = 0; i < 40; ++i) {
    if (i % 7 == 3) {
      b.AppendNull();
    } else if (type.id() == types::TypeId::kUtf8) {
      b.AppendString("s" + std::to_string((i * 13) % 17));
    } else if (type.id() == types::TypeId::kFloat64) {
      b.AppendFixed<double>((i * 13) % 17 / 4.0);
    } else {
      b.AppendFixed<int64_t>((i * 13) % 17 - 5);
    }
    groups.push_back(static_cast<uint32_t>(i % 4));  // group 4 stays empty
  }
  state->Resize(5);
  ColumnPtr col = b.Finish();
  ASSERT_TRUE(state->Update({&col, 1}, groups.data(), 40).ok());
  const std::vector<uint32_t> all{0, 1, 2, 3, 4};
  std::string bytes;
  ASSERT_TRUE(state->SerializeGroups(all.data(), 5, &bytes).ok());
  auto restored = NewState(name, type, retracting);
  restored->Resize(8);
  const std::vector<uint32_t> moved{7, 5, 3, 1, 0};
  ASSERT_TRUE(restored->DeserializeGroups(bytes, moved.data(), 5).ok()) << name;
  EXPECT_EQ(Final(*restored, moved), Final(*state, all)) << name;
  // One value per group, each what SerializeGroups writes for the group alone.
  ColumnBuilder each(types::DataType(types::TypeId::kBinary));
  ASSERT_TRUE(state->SerializeEachGroup(all.data(), 5, &each).ok());
  ColumnPtr values = each.Finish();
  for (int64_t g = 0; g < 5; ++g) {
    std::string one;
    ASSERT_TRUE(state->SerializeGroups(&all[static_cast<size_t>(g)], 1, &one).ok());
    EXPECT_EQ(values->GetString(g), one) << name << " group " << g;
  }
  auto from_each = NewState(name, type, retracting);
  from_each->Resize(8);
  ASSERT_TRUE(from_each->DeserializeEachGroup(*values, nullptr, moved.data(), 5).ok());
  EXPECT_EQ(Final(*from_each, moved), Final(*state, all)) << name;
  // The restored state goes on like the original.
  std::vector<uint32_t> again(40, 0), again_moved(40, 7);
  ASSERT_TRUE(state->Update({&col, 1}, again.data(), 40).ok());
  ASSERT_TRUE(restored->Update({&col, 1}, again_moved.data(), 40).ok());
  EXPECT_EQ(Final(*restored, moved), Final(*state, all)) << name;
  if (retracting) {
    ASSERT_TRUE(state->Retract({&col, 1}, groups.data(), 40).ok());
    std::vector<uint32_t> groups_moved;
    for (uint32_t g : groups) groups_moved.push_back(moved[g]);
    ASSERT_TRUE(restored->Retract({&col, 1}, groups_moved.data(), 40).ok());
    EXPECT_EQ(Final(*restored, moved), Final(*state, all)) << name << " after retractions";
  }
  EXPECT_FALSE(restored->DeserializeGroups(bytes.substr(1), moved.data(), 5).ok())
      << name << ": a truncated state is refused";
}

TEST(AggregateStateTest, SerializableStatesRoundTrip) {
  for (const char* name : {"count", "sum", "avg", "min", "max", "var_samp", "stddev_pop", "bit_and",
                           "bit_or", "bit_xor"}) {
    ExpectRoundTrip(name, types::Int64(), false);
  }
  for (const char* name : {"count", "sum", "avg", "var_pop", "min", "max"}) {
    ExpectRoundTrip(name, types::Int64(), true);
    ExpectRoundTrip(name, types::Float64(), true);
  }
  for (const char* name : {"min", "max", "sum", "avg"})
    ExpectRoundTrip(name, types::Float64(), false);
  for (const char* name : {"min", "max"}) {
    ExpectRoundTrip(name, types::Utf8(), false);
    ExpectRoundTrip(name, types::Utf8(), true);
  }
}

// ---------------------------------------------------------------------------------------------
// States that keep values: DISTINCT sets, collections, percentiles, sketches, min/max of nested
// values. Each is bound through the registry, fed rows with NULLs over five groups (the last one
// empty), checkpointed and restored at other group ids; the restored state must finalize, go on,
// merge (both ways), retract and subtract exactly like the original.

using types::DataType;
using types::TypeId;
using types::Value;

struct Spec {
  std::string name;
  std::vector<DataType> types;  // the bound argument types: rows are generated in them
  std::vector<std::optional<Value>> constants;
  bool distinct = false;
  bool retracting = false;
  int64_t rows = 40;  // more rows make sketches dense and t-digests compress

  std::string Label() const {
    std::string s = name + "(" + (distinct ? "DISTINCT " : "");
    for (size_t i = 0; i < types.size(); ++i) s += (i ? ", " : "") + types[i].ToString();
    return s + ")" + (retracting ? " retracting" : "") + " over " + std::to_string(rows) + " rows";
  }
};

Spec Call(std::string name, std::vector<DataType> types,
          std::vector<std::optional<Value>> constants = {}, bool distinct = false,
          bool retracting = false, int64_t rows = 40) {
  Spec s;
  s.name = std::move(name);
  s.types = std::move(types);
  s.constants = std::move(constants);
  s.distinct = distinct;
  s.retracting = retracting;
  s.rows = rows;
  return s;
}

std::unique_ptr<AggregateState> NewState(const Spec& spec) {
  AggregateBindInput in;
  in.types = spec.types;
  in.constants = spec.constants;
  in.constants.resize(spec.types.size());
  in.distinct = spec.distinct;
  in.retracting = spec.retracting;
  auto bound = AggregateRegistry::Get().Bind(spec.name, in);
  EXPECT_TRUE(bound.ok()) << spec.Label() << ": " << bound.status().ToString();
  if (!bound.ok()) return nullptr;
  return bound->function->NewState();
}

// Row i of a generated column: NULL every 7th row, values repeating (so DISTINCT matters).
void AppendGenerated(const DataType& t, int64_t i, int64_t rows, ColumnBuilder* b) {
  if (i % 7 == 3) {
    b->AppendNull();
    return;
  }
  const int64_t v = rows > 100 ? (i * 7919) % 100003 : (i * 13) % 17 - 5;
  switch (t.id()) {
    case TypeId::kInt64:
      b->AppendFixed<int64_t>(v);
      return;
    case TypeId::kFloat64:
      b->AppendFixed<double>(static_cast<double>(v) / 4.0);
      return;
    case TypeId::kUtf8:
      b->AppendString("s" + std::to_string(v));
      return;
    case TypeId::kList:
      for (int64_t k = 0; k < i % 3; ++k) {
        if (k == 1 && i % 5 == 0) {
          b->element_builder()->AppendNull();
        } else {
          b->element_builder()->AppendFixed<int64_t>(v + k);
        }
      }
      b->FinishListRow();
      return;
    case TypeId::kStruct:
      b->field_builder(0)->AppendFixed<int64_t>(v % 3);
      b->field_builder(1)->AppendString("t" + std::to_string(v));
      b->FinishStructRow();
      return;
    default:
      FAIL() << "no generator for " << t.ToString();
  }
}

std::vector<ColumnPtr> Inputs(const Spec& spec, int64_t salt) {
  std::vector<ColumnPtr> cols;
  for (size_t a = 0; a < spec.types.size(); ++a) {
    ColumnBuilder b(spec.types[a]);
    for (int64_t i = 0; i < spec.rows; ++i) {
      if (a < spec.constants.size() && spec.constants[a]) {
        b.AppendValue(*spec.constants[a]);
      } else {
        AppendGenerated(spec.types[a], i + salt, spec.rows, &b);
      }
    }
    cols.push_back(b.Finish());
  }
  return cols;
}

std::vector<uint32_t> Groups(int64_t rows, const std::vector<uint32_t>& ids) {
  std::vector<uint32_t> out;
  for (int64_t i = 0; i < rows; ++i) out.push_back(ids[static_cast<size_t>(i % 4)]);
  return out;  // ids[4] gets no row
}

void ExpectCheckpointable(const Spec& spec) {
  SCOPED_TRACE(spec.Label());
  auto state = NewState(spec);
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state->serializable());
  const std::vector<uint32_t> all{0, 1, 2, 3, 4};
  const std::vector<uint32_t> moved{7, 5, 3, 1, 0};
  const std::vector<ColumnPtr> rows = Inputs(spec, 0);
  state->Resize(5);
  ASSERT_TRUE(state->Update(rows, Groups(spec.rows, all).data(), spec.rows).ok());

  std::string bytes;
  ASSERT_TRUE(state->SerializeGroups(all.data(), 5, &bytes).ok());
  auto restored = NewState(spec);
  restored->Resize(8);
  ASSERT_TRUE(restored->DeserializeGroups(bytes, moved.data(), 5).ok());
  EXPECT_EQ(Final(*restored, moved), Final(*state, all));

  // One value per group: what SerializeGroups writes for the group alone.
  ColumnBuilder each(DataType(TypeId::kBinary));
  ASSERT_TRUE(state->SerializeEachGroup(all.data(), 5, &each).ok());
  ColumnPtr values = each.Finish();
  ASSERT_EQ(values->length, 5);
  for (int64_t g = 0; g < 5; ++g) {
    std::string one;
    ASSERT_TRUE(state->SerializeGroups(&all[static_cast<size_t>(g)], 1, &one).ok());
    EXPECT_EQ(values->GetString(g), one) << "group " << g;
  }
  auto from_each = NewState(spec);
  from_each->Resize(8);
  const std::vector<int32_t> reversed{4, 3, 2, 1, 0};
  const std::vector<uint32_t> moved_reversed{0, 1, 3, 5, 7};
  ASSERT_TRUE(
      from_each->DeserializeEachGroup(*values, reversed.data(), moved_reversed.data(), 5).ok());
  EXPECT_EQ(Final(*from_each, moved), Final(*state, all));

  // Merging, after the restore, in both directions: the restored groups into a fresh state,
  // and the groups of another state into the restored ones.
  auto merged = NewState(spec);
  auto merged_restored = NewState(spec);
  merged->Resize(1);
  merged_restored->Resize(1);
  for (size_t g = 0; g < 5; ++g) {
    merged->Merge(*state, all[g], 0);
    merged_restored->Merge(*restored, moved[g], 0);
  }
  EXPECT_EQ(Final(*merged_restored, {0}), Final(*merged, {0})) << "merged from";
  auto other = NewState(spec);
  other->Resize(5);
  const std::vector<ColumnPtr> more = Inputs(spec, 11);
  ASSERT_TRUE(other->Update(more, Groups(spec.rows, all).data(), spec.rows).ok());
  for (size_t g = 0; g < 5; ++g) {
    state->Merge(*other, static_cast<uint32_t>(4 - g), all[g]);
    restored->Merge(*other, static_cast<uint32_t>(4 - g), moved[g]);
  }
  EXPECT_EQ(Final(*restored, moved), Final(*state, all)) << "merged into";

  // Going on with more rows, retracting them, subtracting the other state.
  ASSERT_TRUE(state->Update(rows, Groups(spec.rows, all).data(), spec.rows).ok());
  ASSERT_TRUE(restored->Update(rows, Groups(spec.rows, moved).data(), spec.rows).ok());
  EXPECT_EQ(Final(*restored, moved), Final(*state, all)) << "updated";
  if (state->retractable()) {
    ASSERT_TRUE(state->Retract(rows, Groups(spec.rows, all).data(), spec.rows).ok());
    ASSERT_TRUE(restored->Retract(rows, Groups(spec.rows, moved).data(), spec.rows).ok());
    EXPECT_EQ(Final(*restored, moved), Final(*state, all)) << "retracted";
  }
  if (state->invertible()) {
    for (size_t g = 0; g < 5; ++g) {
      state->Subtract(*other, static_cast<uint32_t>(4 - g), all[g]);
      restored->Subtract(*other, static_cast<uint32_t>(4 - g), moved[g]);
    }
    EXPECT_EQ(Final(*restored, moved), Final(*state, all)) << "subtracted";
  }

  // Damaged input is refused, never a crash: every truncation, a trailing byte, another
  // format version.
  auto target = NewState(spec);
  target->Resize(8);
  const size_t step = bytes.size() > 4096 ? 61 : 1;
  for (size_t n = 0; n < bytes.size(); n += step) {
    EXPECT_FALSE(
        target->DeserializeGroups(std::string_view(bytes).substr(0, n), moved.data(), 5).ok())
        << "truncated to " << n << " of " << bytes.size() << " bytes";
  }
  EXPECT_FALSE(target->DeserializeGroups(bytes + '\0', moved.data(), 5).ok());
  std::string other_version = bytes;
  other_version[0] = static_cast<char>(other_version[0] + 1);
  Status st = target->DeserializeGroups(other_version, moved.data(), 5);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("version"), std::string::npos) << st.message();
}

DataType ListOfInt() {
  return DataType::List(types::Int64());
}
DataType Pair() {
  return DataType::Struct({{"a", types::Int64(), true}, {"b", types::Utf8(), true}});
}

TEST(AggregateStateTest, CollectionsAndPercentiles) {
  for (const DataType& t : {types::Int64(), types::Utf8(), ListOfInt(), Pair()}) {
    ExpectCheckpointable(Call("array_agg", {t}));
    ExpectCheckpointable(Call("first_value", {t}));
    ExpectCheckpointable(Call("last_value", {t}));
  }
  ExpectCheckpointable(
      Call("string_agg", {types::Utf8(), types::Utf8()}, {std::nullopt, Value::String(", ")}));
  ExpectCheckpointable(Call("median", {types::Float64()}));
  ExpectCheckpointable(Call("median", {types::Float64()}, {}, false, true));
  ExpectCheckpointable(Call("percentile_cont", {types::Float64(), types::Float64()},
                            {std::nullopt, Value::Double(0.9)}));
}

TEST(AggregateStateTest, Sketches) {
  for (int64_t rows : {40, 3000}) {  // sparse and dense; raw values and centroids
    for (const DataType& t : {types::Int64(), types::Utf8(), ListOfInt()}) {
      ExpectCheckpointable(Call("approx_distinct", {t}, {}, false, false, rows));
    }
    ExpectCheckpointable(Call("approx_median", {types::Float64()}, {}, false, false, rows));
    ExpectCheckpointable(Call("approx_percentile_cont", {types::Float64(), types::Float64()},
                              {std::nullopt, Value::Double(0.25)}, false, false, rows));
  }
}

TEST(AggregateStateTest, DistinctAggregates) {
  for (bool retracting : {false, true}) {
    for (const DataType& t : {types::Int64(), types::Float64(), types::Utf8(), ListOfInt()}) {
      ExpectCheckpointable(Call("count", {t}, {}, true, retracting));
    }
    ExpectCheckpointable(Call("sum", {types::Int64()}, {}, true, retracting));
    ExpectCheckpointable(Call("avg", {types::Float64()}, {}, true, retracting));
  }
  ExpectCheckpointable(Call("count", {types::Int64()}, {}, true, false, 3000));
  ExpectCheckpointable(Call("array_agg", {types::Utf8()}, {}, true));
  ExpectCheckpointable(Call("array_agg", {Pair()}, {}, true));
  ExpectCheckpointable(
      Call("string_agg", {types::Utf8(), types::Utf8()}, {std::nullopt, Value::String("|")}, true));
  ExpectCheckpointable(Call("median", {types::Float64()}, {}, true));
}

TEST(AggregateStateTest, MinMaxOfNestedValues) {
  for (const char* name : {"min", "max"}) {
    for (const DataType& t : {ListOfInt(), Pair()}) {
      ExpectCheckpointable(Call(name, {t}));
      ExpectCheckpointable(Call(name, {t}, {}, false, true));
    }
  }
}

// Every aggregate of the registry can be checkpointed, so no query is refused for one.
TEST(AggregateStateTest, EveryAggregateIsSerializable) {
  const std::vector<std::vector<DataType>> signatures = {
      {types::Int64()},
      {types::Float64()},
      {types::Utf8()},
      {types::Bool()},
      {ListOfInt()},
      {Pair()},
      {types::Utf8(), types::Utf8()},
      {types::Float64(), types::Float64()},
      {types::Float64(), types::Float64(), types::Float64()}};
  for (const std::string& name : AggregateRegistry::Get().Names()) {
    int bound = 0;
    for (const auto& types : signatures) {
      for (bool distinct : {false, true}) {
        for (bool retracting : {false, true}) {
          AggregateBindInput in;
          in.types = types;
          in.distinct = distinct;
          in.retracting = retracting;
          in.constants.resize(types.size());
          if (types.size() == 2) {  // a constant second argument: a delimiter or a fraction
            in.constants[1] =
                types[1].id() == TypeId::kUtf8 ? Value::String(",") : Value::Double(0.5);
          }
          if (types.size() == 3) in.constants[2] = Value::Double(0.5);  // value, weight, fraction
          auto b = AggregateRegistry::Get().Bind(name, in);
          if (!b.ok()) continue;
          ++bound;
          EXPECT_TRUE(b->function->NewState()->serializable())
              << name << " " << (distinct ? "DISTINCT " : "") << (retracting ? "retracting " : "")
              << types[0].ToString();
        }
      }
    }
    EXPECT_GT(bound, 0) << name << " bound with none of the signatures";
  }
}

}  // namespace
}  // namespace sluice::expr
