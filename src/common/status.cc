#include "common/status.h"

namespace sluice {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk:
      return "ok";
    case ErrorKind::kUser:
      return "error";
    case ErrorKind::kNotSupported:
      return "not supported yet";
    case ErrorKind::kIo:
      return "I/O error";
    case ErrorKind::kInternal:
      return "internal error";
    case ErrorKind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return fmt::format("{}: {}", ErrorKindName(state_->kind), state_->message);
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(state_->kind, context + ": " + state_->message);
}

}  // namespace sluice
