#include "batch/serialize.h"

#include <limits>

namespace sluice::batch {

namespace {

constexpr char kMagic[4] = {'S', 'B', 'A', 'T'};
constexpr uint16_t kMinReadableVersion = 1;
// Nesting deeper than this is refused when reading (a corrupt file must not recurse forever).
constexpr int kMaxDepth = 64;

enum BufferBits : uint8_t { kHasValidity = 1, kHasValues = 2, kHasData = 4 };
enum BatchBits : uint8_t { kHasSchema = 1, kHasEventTime = 2, kHasChangeKind = 4 };

// ---- writing ----

void PutType(ByteWriter& w, const DataType& type);

void PutField(ByteWriter& w, const types::Field& f) {
  w.PutBytes(f.name);
  w.Put<uint8_t>(f.nullable ? 1 : 0);
  PutType(w, f.type);
}

// TIMESTAMPTZ is kTimestamp with this bit set in the id byte, so that batches written before
// it existed read unchanged.
constexpr uint8_t kWithTimeZoneBit = 0x80;

void PutType(ByteWriter& w, const DataType& type) {
  w.Put<uint8_t>(static_cast<uint8_t>(static_cast<uint8_t>(type.id()) |
                                      (type.with_time_zone() ? kWithTimeZoneBit : 0)));
  switch (type.id()) {
    case TypeId::kDecimal:
      w.Put<int32_t>(type.precision());
      w.Put<int32_t>(type.scale());
      break;
    case TypeId::kList:
      PutType(w, type.element());
      break;
    case TypeId::kStruct:
      w.Put<uint32_t>(static_cast<uint32_t>(type.fields().size()));
      for (const auto& f : type.fields()) PutField(w, f);
      break;
    default:
      break;
  }
}

void PutBuffer(ByteWriter& w, const BufferPtr& b) {
  w.Put<uint64_t>(b->size());
  w.PutRaw(b->data(), b->size());
}

void PutColumn(ByteWriter& w, const Column& c) {
  PutType(w, c.type);
  w.Put<int64_t>(c.length);
  uint8_t bits =
      (c.validity ? kHasValidity : 0) | (c.values ? kHasValues : 0) | (c.data ? kHasData : 0);
  w.Put<uint8_t>(bits);
  if (c.validity) PutBuffer(w, c.validity);
  if (c.values) PutBuffer(w, c.values);
  if (c.data) PutBuffer(w, c.data);
  w.Put<uint32_t>(static_cast<uint32_t>(c.children.size()));
  for (const auto& child : c.children) PutColumn(w, *child);
}

// ---- reading ----

class Reader {
 public:
  explicit Reader(std::string_view* bytes) : r_(*bytes, "serialized batch"), bytes_(bytes) {}

  Result<BatchPtr> Read() {
    std::string_view magic;
    SLUICE_RETURN_NOT_OK(r_.GetRaw(sizeof(kMagic), &magic));
    if (magic != std::string_view(kMagic, sizeof(kMagic))) return r_.Corrupt("bad magic");
    uint16_t version = 0, min_version = 0;
    SLUICE_RETURN_NOT_OK(r_.Get(&version));
    SLUICE_RETURN_NOT_OK(r_.Get(&min_version));
    if (version < kMinReadableVersion || min_version > kBatchFormatVersion) {
      return Status::Io(
          "serialized batch has format version {} (readable from version {}); this build reads "
          "versions {} to {}",
          version, min_version, kMinReadableVersion, kBatchFormatVersion);
    }
    auto b = std::make_shared<Batch>();
    SLUICE_RETURN_NOT_OK(r_.Get(&b->num_rows));
    if (b->num_rows < 0) return r_.Corrupt("negative row count");
    uint8_t bits = 0;
    SLUICE_RETURN_NOT_OK(r_.Get(&bits));
    if (bits & kHasSchema) {
      uint32_t n = 0;
      SLUICE_RETURN_NOT_OK(r_.Get(&n));
      std::vector<types::Field> fields;
      for (uint32_t i = 0; i < n; ++i) {
        types::Field f;
        SLUICE_RETURN_NOT_OK(ReadField(&f, 0));
        fields.push_back(std::move(f));
      }
      b->schema = std::make_shared<const types::Schema>(std::move(fields));
    }
    uint32_t ncols = 0;
    SLUICE_RETURN_NOT_OK(r_.Get(&ncols));
    for (uint32_t i = 0; i < ncols; ++i) {
      uint8_t present = 0;
      SLUICE_RETURN_NOT_OK(r_.Get(&present));
      if (!present) {
        b->columns.push_back(nullptr);  // a column an operator left out
        continue;
      }
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, ReadColumn(0));
      if (c->length != b->num_rows) return r_.Corrupt("column length differs from row count");
      b->columns.push_back(std::move(c));
    }
    if (bits & kHasEventTime) {
      SLUICE_ASSIGN_OR_RETURN(b->event_time, ReadColumn(0));
      if (b->event_time->length != b->num_rows || b->event_time->type.id() != TypeId::kTimestamp) {
        return r_.Corrupt("bad event-time column");
      }
    }
    if (bits & kHasChangeKind) {
      SLUICE_ASSIGN_OR_RETURN(b->change_kind, ReadColumn(0));
      if (b->change_kind->length != b->num_rows || b->change_kind->type.id() != TypeId::kInt8) {
        return r_.Corrupt("bad change-kind column");
      }
    }
    *bytes_ = r_.rest();
    return BatchPtr(std::move(b));
  }

 private:
  Status ReadField(types::Field* f, int depth) {
    std::string_view name;
    SLUICE_RETURN_NOT_OK(r_.GetBytes(&name));
    f->name = std::string(name);
    uint8_t nullable = 0;
    SLUICE_RETURN_NOT_OK(r_.Get(&nullable));
    f->nullable = nullable != 0;
    SLUICE_ASSIGN_OR_RETURN(f->type, ReadType(depth + 1));
    return Status::Ok();
  }

  Result<DataType> ReadType(int depth) {
    if (depth > kMaxDepth) return r_.Corrupt("types nested too deeply");
    uint8_t id = 0;
    SLUICE_RETURN_NOT_OK(r_.Get(&id));
    if (id == (kWithTimeZoneBit | static_cast<uint8_t>(TypeId::kTimestamp))) {
      return DataType::TimestampTz();
    }
    if (id > static_cast<uint8_t>(TypeId::kStruct)) return r_.Corrupt("unknown type id");
    auto tid = static_cast<TypeId>(id);
    switch (tid) {
      case TypeId::kDecimal: {
        int32_t precision = 0, scale = 0;
        SLUICE_RETURN_NOT_OK(r_.Get(&precision));
        SLUICE_RETURN_NOT_OK(r_.Get(&scale));
        if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
          return r_.Corrupt("bad decimal precision or scale");
        }
        return DataType::Decimal(precision, scale);
      }
      case TypeId::kList: {
        SLUICE_ASSIGN_OR_RETURN(DataType element, ReadType(depth + 1));
        return DataType::List(std::move(element));
      }
      case TypeId::kStruct: {
        uint32_t n = 0;
        SLUICE_RETURN_NOT_OK(r_.Get(&n));
        std::vector<types::Field> fields;
        for (uint32_t i = 0; i < n; ++i) {
          types::Field f;
          SLUICE_RETURN_NOT_OK(ReadField(&f, depth));
          fields.push_back(std::move(f));
        }
        return DataType::Struct(std::move(fields));
      }
      default:
        return DataType(tid);
    }
  }

  Result<BufferPtr> ReadBuffer() {
    uint64_t n = 0;
    SLUICE_RETURN_NOT_OK(r_.Get(&n));
    std::string_view raw;
    SLUICE_RETURN_NOT_OK(r_.GetRaw(n, &raw));
    auto b = std::make_shared<Buffer>(raw.size());
    if (!raw.empty()) std::memcpy(b->data(), raw.data(), raw.size());
    return b;
  }

  Result<ColumnPtr> ReadColumn(int depth) {
    if (depth > kMaxDepth) return r_.Corrupt("columns nested too deeply");
    auto c = std::make_shared<Column>();
    SLUICE_ASSIGN_OR_RETURN(c->type, ReadType(depth));
    SLUICE_RETURN_NOT_OK(r_.Get(&c->length));
    // A length beyond what int32 offsets address cannot be valid.
    if (c->length < 0 || c->length > std::numeric_limits<int32_t>::max()) {
      return r_.Corrupt("bad column length");
    }
    uint8_t bits = 0;
    SLUICE_RETURN_NOT_OK(r_.Get(&bits));
    if (bits & kHasValidity) {
      SLUICE_ASSIGN_OR_RETURN(c->validity, ReadBuffer());
    }
    if (bits & kHasValues) {
      SLUICE_ASSIGN_OR_RETURN(c->values, ReadBuffer());
    }
    if (bits & kHasData) {
      SLUICE_ASSIGN_OR_RETURN(c->data, ReadBuffer());
    }
    uint32_t nchildren = 0;
    SLUICE_RETURN_NOT_OK(r_.Get(&nchildren));
    if (nchildren > r_.rest().size()) return r_.Corrupt("bad child count");
    for (uint32_t i = 0; i < nchildren; ++i) {
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr child, ReadColumn(depth + 1));
      c->children.push_back(std::move(child));
    }
    SLUICE_RETURN_NOT_OK(Validate(*c));
    return ColumnPtr(std::move(c));
  }

  // The buffers must hold what the type and length say, so no later read leaves them.
  Status Validate(const Column& c) {
    const auto n = static_cast<size_t>(c.length);
    if (c.validity && c.validity->size() < BitmapBytes(c.length)) {
      return r_.Corrupt("validity bitmap too short");
    }
    auto need_values = [&](size_t bytes) -> Status {
      if (bytes > 0 && (!c.values || c.values->size() < bytes)) {
        return r_.Corrupt("values buffer too short");
      }
      return Status::Ok();
    };
    auto check_offsets = [&](size_t limit) -> Status {
      SLUICE_RETURN_NOT_OK(need_values(sizeof(int32_t) * (n + 1)));
      const int32_t* o = c.values->as<int32_t>();
      if (o[0] < 0) return r_.Corrupt("negative offset");
      for (size_t i = 0; i < n; ++i) {
        if (o[i + 1] < o[i]) return r_.Corrupt("offsets not ascending");
      }
      if (static_cast<size_t>(o[n]) > limit) return r_.Corrupt("offset past the end");
      return Status::Ok();
    };
    switch (c.type.id()) {
      case TypeId::kNull:
        return Status::Ok();
      case TypeId::kBool:
        return need_values(BitmapBytes(c.length));
      case TypeId::kUtf8:
      case TypeId::kJson:
      case TypeId::kBinary:
        return check_offsets(c.data ? c.data->size() : 0);
      case TypeId::kList:
        if (c.children.size() != 1 || c.children[0]->type != c.type.element()) {
          return r_.Corrupt("list column without its element column");
        }
        return check_offsets(static_cast<size_t>(c.children[0]->length));
      case TypeId::kStruct:
        if (c.children.size() != c.type.fields().size()) {
          return r_.Corrupt("struct column with the wrong number of fields");
        }
        for (size_t i = 0; i < c.children.size(); ++i) {
          if (c.children[i]->length < c.length || c.children[i]->type != c.type.fields()[i].type) {
            return r_.Corrupt("struct field column does not match its type");
          }
        }
        return Status::Ok();
      default:
        return need_values(static_cast<size_t>(c.type.byte_width()) * n);
    }
  }

  ByteReader r_;
  std::string_view* bytes_;
};

}  // namespace

void SerializeBatch(const Batch& batch, std::string* out) {
  ByteWriter w(out);
  w.PutRaw(kMagic, sizeof(kMagic));
  w.Put<uint16_t>(kBatchFormatVersion);
  w.Put<uint16_t>(kMinReadableVersion);
  w.Put<int64_t>(batch.num_rows);
  uint8_t bits = (batch.schema ? kHasSchema : 0) | (batch.event_time ? kHasEventTime : 0) |
                 (batch.change_kind ? kHasChangeKind : 0);
  w.Put<uint8_t>(bits);
  if (batch.schema) {
    w.Put<uint32_t>(static_cast<uint32_t>(batch.schema->size()));
    for (const auto& f : batch.schema->fields()) PutField(w, f);
  }
  w.Put<uint32_t>(static_cast<uint32_t>(batch.columns.size()));
  for (const auto& c : batch.columns) {
    w.Put<uint8_t>(c ? 1 : 0);
    if (c) PutColumn(w, *c);
  }
  if (batch.event_time) PutColumn(w, *batch.event_time);
  if (batch.change_kind) PutColumn(w, *batch.change_kind);
}

Result<BatchPtr> DeserializeBatch(std::string_view* bytes) {
  return Reader(bytes).Read();
}

Result<BatchPtr> DeserializeBatch(std::string_view bytes) {
  SLUICE_ASSIGN_OR_RETURN(BatchPtr b, DeserializeBatch(&bytes));
  if (!bytes.empty()) return Status::Io("serialized batch is corrupt: trailing bytes");
  return b;
}

}  // namespace sluice::batch
