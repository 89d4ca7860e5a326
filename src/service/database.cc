#include "service/database.h"

namespace sluice::service {

Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0) {
    std::string path = url.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);  // sqlite://PATH
    if (path.empty()) return Status::User("--db sqlite:PATH needs a path, got '{}'", url);
    return OpenSqlite(path);
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return OpenPostgres(url);
  }
  return Status::User(
      "--db must be sqlite:PATH or a postgresql://user@host:port/database URL, got '{}'", url);
}

}  // namespace sluice::service
