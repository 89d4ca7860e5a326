#include "udf/arrow_bridge.h"

#include <cstring>

#include <fmt/format.h>

namespace sluice::udf {

namespace {

using batch::Buffer;
using batch::BufferPtr;
using batch::Column;
using types::DataType;
using types::TypeId;

// The arrays are borrowed: Sluice owns their memory, so release only marks them released.
void ReleaseBorrowed(ArrowArray* array) {
  array->release = nullptr;
}

bool IsOffsetType(const DataType& type) {
  return type.is_string_like() || type.id() == TypeId::kList;
}

}  // namespace

ArgumentArrays::ArgumentArrays(std::span<const batch::ColumnPtr> columns) {
  roots_.reserve(columns.size());
  for (const auto& c : columns) roots_.push_back(Export(*c));
}

ArrowArray* ArgumentArrays::Export(const Column& column) {
  Node& node = nodes_.emplace_back();
  ArrowArray& a = node.array;
  a.length = column.length;
  a.null_count = column.validity ? -1 : 0;  // -1: not computed, as the specification allows
  a.offset = 0;
  node.buffers[0] = column.validity ? column.validity->data() : nullptr;
  const TypeId id = column.type.id();
  if (id == TypeId::kStruct) {
    a.n_buffers = 1;
  } else if (column.type.is_string_like()) {
    a.n_buffers = 3;
    node.buffers[1] = column.values ? column.values->data() : nullptr;
    node.buffers[2] = column.data ? column.data->data() : nullptr;
  } else {
    a.n_buffers = 2;
    node.buffers[1] = column.values ? column.values->data() : nullptr;
  }
  a.buffers = node.buffers;
  for (const auto& child : column.children) node.children.push_back(Export(*child));
  a.n_children = static_cast<int64_t>(node.children.size());
  a.children = node.children.empty() ? nullptr : node.children.data();
  a.dictionary = nullptr;
  a.release = ReleaseBorrowed;
  a.private_data = nullptr;
  return &a;
}

ResultArray::ResultArray(const DataType& type, int64_t rows) {
  host_.abi_version = SLUICE_UDF_ABI_VERSION;
  host_.reserve = &ResultArray::Reserve;
  Prepare(type, rows);
}

ArrowArray* ResultArray::Prepare(const DataType& type, int64_t rows) {
  Node& node = nodes_.emplace_back();
  node.type = type;
  ArrowArray& a = node.array;
  a.length = rows;
  a.null_count = -1;
  a.offset = 0;
  a.n_buffers = type.id() == TypeId::kStruct ? 1 : (type.is_string_like() ? 3 : 2);
  a.buffers = node.buffers;
  a.private_data = &node;
  node.owner = this;
  a.release = ReleaseBorrowed;
  auto alloc = [&](int index, int64_t bytes, int fill) {
    auto buffer = std::make_shared<Buffer>();
    buffer->Resize(static_cast<size_t>(bytes));
    if (fill >= 0 && bytes > 0) std::memset(buffer->data(), fill, static_cast<size_t>(bytes));
    node.owned[index] = buffer;
    node.buffers[index] = buffer->data();
  };
  alloc(0, (rows + 7) / 8, 0xff);
  const TypeId id = type.id();
  if (id == TypeId::kBool) {
    alloc(1, (rows + 7) / 8, 0);
  } else if (IsOffsetType(type)) {
    alloc(1, (rows + 1) * 4, 0);
    if (type.is_string_like()) alloc(2, 0, -1);
  } else if (id != TypeId::kStruct) {
    alloc(1, rows * type.byte_width(), -1);
  }
  // Children are prepared after this node's fields are set: `nodes_` is a deque, so `node`
  // stays valid while more nodes are added.
  if (id == TypeId::kList) {
    node.children.push_back(nullptr);
    ArrowArray* child = Prepare(type.element(), 0);
    node.children[0] = child;
  } else if (id == TypeId::kStruct) {
    for (const auto& f : type.fields()) node.children.push_back(Prepare(f.type, rows));
  }
  a.n_children = static_cast<int64_t>(node.children.size());
  a.children = node.children.empty() ? nullptr : node.children.data();
  return &a;
}

void* ResultArray::Reserve(SluiceUdfHost* host, ArrowArray* array, int32_t index, int64_t bytes) {
  if (array == nullptr || index < 0 || index > 2 || bytes < 0) return nullptr;
  Node* node = static_cast<Node*>(array->private_data);
  if (node == nullptr || &node->array != array || host != &node->owner->host_) return nullptr;
  if (index >= array->n_buffers) return nullptr;
  BufferPtr& buffer = node->owned[index];
  if (!buffer) buffer = std::make_shared<Buffer>();
  if (static_cast<int64_t>(buffer->size()) < bytes) {
    try {
      buffer->ResizeZeroed(static_cast<size_t>(bytes));
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }
  node->buffers[index] = buffer->data();
  return buffer->data();
}

Result<batch::ColumnPtr> ResultArray::Finish(const std::string& function) {
  return Take(&nodes_.front(), function);
}

Result<batch::ColumnPtr> ResultArray::Take(Node* node, const std::string& function) {
  const ArrowArray& a = node->array;
  auto column = std::make_shared<Column>();
  column->type = node->type;
  column->length = a.length;
  auto bad = [&](const std::string& what) {
    return Status::User("function {}() returned an invalid result: {}", function, what);
  };
  if (a.length < 0 || a.offset != 0) return bad("negative length or an offset");
  auto need = [&](int index, int64_t bytes) -> bool {
    return node->owned[index] && static_cast<int64_t>(node->owned[index]->size()) >= bytes;
  };
  if (!need(0, (a.length + 7) / 8)) return bad("the validity bitmap is too short");
  // Keep the validity bitmap only when some row is NULL.
  const uint8_t* bits = node->owned[0]->data();
  bool any_null = false;
  for (int64_t i = 0; i < a.length / 8 && !any_null; ++i) any_null = bits[i] != 0xff;
  for (int64_t i = a.length / 8 * 8; i < a.length && !any_null; ++i) {
    any_null = !batch::GetBit(bits, i);
  }
  if (any_null) column->validity = node->owned[0];
  const TypeId id = node->type.id();
  if (id == TypeId::kBool) {
    if (!need(1, (a.length + 7) / 8)) return bad("the values bitmap is too short");
    column->values = node->owned[1];
  } else if (IsOffsetType(node->type)) {
    if (!need(1, (a.length + 1) * 4)) return bad("the offsets buffer is too short");
    column->values = node->owned[1];
    const int32_t* offsets = column->offsets();
    if (offsets[0] != 0) return bad("the first offset is not 0");
    int64_t end = offsets[a.length];
    if (node->type.is_string_like()) {
      if (end < 0 || !need(2, end)) return bad("the string offsets go past the bytes reserved");
      node->owned[2]->Resize(static_cast<size_t>(end));
      column->data = node->owned[2];
    } else {
      Node* child = static_cast<Node*>(node->children[0]->private_data);
      if (end != child->array.length) {
        return bad(fmt::format("the list offsets end at {} but the element array has {} rows", end,
                               child->array.length));
      }
    }
  } else if (id != TypeId::kStruct) {
    if (!need(1, a.length * node->type.byte_width())) return bad("the values buffer is too short");
    column->values = node->owned[1];
  }
  for (ArrowArray* c : node->children) {
    Node* child = static_cast<Node*>(c->private_data);
    if (id == TypeId::kStruct && child->array.length != a.length) {
      return bad("a struct field has another length than the struct");
    }
    SLUICE_ASSIGN_OR_RETURN(auto taken, Take(child, function));
    column->children.push_back(std::move(taken));
  }
  return batch::ColumnPtr(std::move(column));
}

}  // namespace sluice::udf
