#pragma once
// Builds one column row by row. Typed appends are inlined and allocation-free in steady state;
// AppendValue is the slow, generic path.

#include <memory>
#include <string_view>
#include <vector>

#include "batch/column.h"

namespace sluice::batch {

class ColumnBuilder {
 public:
  explicit ColumnBuilder(DataType type);

  const DataType& type() const { return type_; }
  int64_t length() const { return length_; }
  void Reserve(int64_t rows);

  void AppendNull();
  void AppendBool(bool v) {
    if ((length_ & 7) == 0) values_->Append("\0", 1);
    SetBitTo(values_->data(), length_, v);
    MarkValid();
  }
  template <typename T>
  void AppendFixed(T v) {
    values_->Append(&v, sizeof(T));
    MarkValid();
  }
  void AppendString(std::string_view s) {
    data_->Append(s.data(), s.size());
    int32_t end = static_cast<int32_t>(data_->size());
    values_->Append(&end, sizeof(end));
    MarkValid();
  }
  // Lists: append the elements to element_builder(), then close the row.
  ColumnBuilder* element_builder() { return children_[0].get(); }
  void FinishListRow() {
    int32_t end = static_cast<int32_t>(children_[0]->length());
    values_->Append(&end, sizeof(end));
    MarkValid();
  }
  // Structs: append one value to every field builder, then close the row.
  ColumnBuilder* field_builder(size_t i) { return children_[i].get(); }
  void FinishStructRow() { MarkValid(); }

  // Generic append; `value` must have this builder's type (or be NULL).
  void AppendValue(const types::Value& value);

  // Returns the column and resets the builder to empty.
  ColumnPtr Finish();

 private:
  void MarkValid() {
    if (validity_) {
      if ((length_ & 7) == 0) validity_->Append("\0", 1);
      SetBit(validity_->data(), length_);
    }
    ++length_;
  }
  void Init();

  DataType type_;
  int64_t length_ = 0;
  BufferPtr validity_;  // allocated at the first NULL
  BufferPtr values_;
  BufferPtr data_;
  std::vector<std::unique_ptr<ColumnBuilder>> children_;
};

}  // namespace sluice::batch
