#include "expr/functions/row_access.h"

#include "common/check.h"

namespace sluice::expr {

using batch::Column;
using batch::ColumnBuilder;

void AppendFrom(ColumnBuilder* b, const Column& c, int64_t i) {
  if (c.IsNull(i) || c.type.id() == TypeId::kNull) {
    b->AppendNull();
    return;
  }
  switch (c.type.id()) {
    case TypeId::kBool:
      b->AppendBool(c.GetBool(i));
      return;
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
      b->AppendString(c.GetString(i));
      return;
    case TypeId::kList: {
      const int32_t* o = c.offsets();
      for (int32_t j = o[i]; j < o[i + 1]; ++j) AppendFrom(b->element_builder(), *c.children[0], j);
      b->FinishListRow();
      return;
    }
    case TypeId::kStruct:
      for (size_t k = 0; k < c.children.size(); ++k) {
        AppendFrom(b->field_builder(k), *c.children[k], i);
      }
      b->FinishStructRow();
      return;
    default:
      break;
  }
  switch (c.type.byte_width()) {
    case 1:
      b->AppendFixed(c.raw<uint8_t>()[i]);
      return;
    case 2:
      b->AppendFixed(c.raw<uint16_t>()[i]);
      return;
    case 4:
      b->AppendFixed(c.raw<uint32_t>()[i]);
      return;
    case 8:
      b->AppendFixed(c.raw<uint64_t>()[i]);
      return;
    case 16:
      b->AppendFixed(c.raw<__int128>()[i]);
      return;
    default:
      SLUICE_CHECK(false, "AppendFrom: unexpected byte width");
  }
}

namespace {

template <typename T>
void GatherFixed(std::span<const ColumnPtr> sources, const int32_t* source, int64_t n, T* out) {
  for (int64_t r = 0; r < n; ++r) {
    out[r] = source[r] >= 0 ? sources[source[r]]->raw<T>()[r] : T{};
  }
}

}  // namespace

ColumnPtr GatherRows(const DataType& type, std::span<const ColumnPtr> sources,
                     const int32_t* source, int64_t n) {
  int width = type.byte_width();
  bool fixed = type.id() == TypeId::kBool || (width > 0 && !type.is_nested());
  if (!fixed) {
    ColumnBuilder b(type);
    b.Reserve(n);
    for (int64_t r = 0; r < n; ++r) {
      if (source[r] < 0) {
        b.AppendNull();
      } else {
        AppendFrom(&b, *sources[source[r]], r);
      }
    }
    return b.Finish();
  }
  auto out = Column::MakeFixed(type, n);
  bool any_null = false;
  for (int64_t r = 0; r < n; ++r) any_null |= source[r] < 0;
  if (any_null) {
    out->validity = Column::MakeAllValidBitmap(n);
    for (int64_t r = 0; r < n; ++r) {
      if (source[r] < 0) batch::ClearBit(out->validity->data(), r);
    }
  }
  if (type.id() == TypeId::kBool) {
    uint8_t* bits = out->values->data();
    for (int64_t r = 0; r < n; ++r) {
      if (source[r] >= 0 && sources[source[r]]->GetBool(r)) batch::SetBit(bits, r);
    }
    return out;
  }
  switch (width) {
    case 1:
      GatherFixed(sources, source, n, out->mutable_raw<uint8_t>());
      break;
    case 2:
      GatherFixed(sources, source, n, out->mutable_raw<uint16_t>());
      break;
    case 4:
      GatherFixed(sources, source, n, out->mutable_raw<uint32_t>());
      break;
    case 8:
      GatherFixed(sources, source, n, out->mutable_raw<uint64_t>());
      break;
    case 16:
      GatherFixed(sources, source, n, out->mutable_raw<__int128>());
      break;
    default:
      SLUICE_CHECK(false, "GatherRows: unexpected byte width");
  }
  return out;
}

}  // namespace sluice::expr
