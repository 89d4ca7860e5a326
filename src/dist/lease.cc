#include "dist/lease.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/fault.h"

namespace sluice::dist {

namespace {

PGconn* Conn(void* c) {
  return static_cast<PGconn*>(c);
}

std::string ErrorOf(PGconn* conn) {
  std::string m = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// Where the lease lives, for messages: host, port and database, never the password.
std::string Where(PGconn* conn) {
  if (conn == nullptr) return "PostgreSQL";
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  const char* db = PQdb(conn);
  return fmt::format("PostgreSQL at {}:{} (database {})", host ? host : "?", port ? port : "?",
                     db ? db : "?");
}

struct ResultHolder {
  PGresult* r = nullptr;
  ~ResultHolder() { PQclear(r); }
};

// Runs one statement; rows of text (NULL as nullopt). Waits at most `timeout_ms` for the answer
// (a server that accepts bytes but never answers would block a synchronous call forever); on a
// timeout `*broken` is set: the connection is mid-statement and must be reset before reuse.
using Row = std::vector<std::optional<std::string>>;
Result<std::vector<Row>> Exec(PGconn* conn, const char* sql, const std::vector<std::string>& args,
                              std::string_view doing, int64_t timeout_ms, bool* broken) {
  std::vector<const char*> values;
  for (const auto& a : args) values.push_back(a.c_str());
  if (!PQsendQueryParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                         nullptr, nullptr, 0)) {
    *broken = true;
    return Status::Io("lease in {}: {}: {}", Where(conn), doing, ErrorOf(conn));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (PQisBusy(conn)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      *broken = true;
      return Status::Io("lease in {}: {}: no answer within {} ms", Where(conn), doing, timeout_ms);
    }
    pollfd pfd{PQsocket(conn), POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(left));
    if (rc < 0 && errno != EINTR) {
      *broken = true;
      return Status::Io("lease in {}: {}: poll: {}", Where(conn), doing, std::strerror(errno));
    }
    if (rc > 0 && !PQconsumeInput(conn)) {
      *broken = true;
      return Status::Io("lease in {}: {}: {}", Where(conn), doing, ErrorOf(conn));
    }
  }
  std::vector<Row> rows;
  Status status = Status::Ok();
  bool first = true;
  while (PGresult* r = PQgetResult(conn)) {
    ResultHolder res;
    res.r = r;
    if (!first) continue;
    first = false;
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string m = PQresultErrorMessage(r);
      while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
      status = Status::Io("lease in {}: {}: {}", Where(conn), doing, m);
      continue;
    }
    for (int row = 0; row < PQntuples(r); ++row) {
      Row out;
      for (int c = 0; c < PQnfields(r); ++c) {
        if (PQgetisnull(r, row, c)) {
          out.emplace_back();
        } else {
          out.emplace_back(
              std::string(PQgetvalue(r, row, c), static_cast<size_t>(PQgetlength(r, row, c))));
        }
      }
      rows.push_back(std::move(out));
    }
  }
  if (first) {
    *broken = true;
    return Status::Io("lease in {}: {}: {}", Where(conn), doing, ErrorOf(conn));
  }
  if (!status.ok()) return status;
  return rows;
}

constexpr const char* kCreate =
    "CREATE TABLE IF NOT EXISTS sluice_job_leases ("
    " job TEXT PRIMARY KEY,"
    " holder TEXT NOT NULL,"
    " epoch BIGINT NOT NULL,"
    " expires_at TIMESTAMPTZ NOT NULL,"
    " latest_checkpoint BIGINT,"
    " updated_at TIMESTAMPTZ NOT NULL DEFAULT now())";

// $1 job, $2 holder, $3 ttl in microseconds.
constexpr const char* kAcquire =
    "INSERT INTO sluice_job_leases AS l (job, holder, epoch, expires_at)"
    " VALUES ($1, $2, 1, now() + $3::bigint * interval '1 microsecond')"
    " ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, epoch = l.epoch + 1,"
    "   expires_at = EXCLUDED.expires_at, updated_at = now()"
    " WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder"
    " RETURNING epoch";

// $1 job, $2 epoch, $3 ttl in microseconds.
constexpr const char* kRenew =
    "UPDATE sluice_job_leases SET expires_at = now() + $3::bigint * interval '1 microsecond',"
    " updated_at = now() WHERE job = $1 AND epoch = $2::bigint RETURNING epoch";

// $1 job, $2 epoch, $3 checkpoint.
constexpr const char* kCommit =
    "UPDATE sluice_job_leases SET latest_checkpoint = $3::bigint, updated_at = now()"
    " WHERE job = $1 AND epoch = $2::bigint RETURNING epoch";

constexpr const char* kRead =
    "SELECT holder, epoch, expires_at < now(),"
    " extract(epoch FROM expires_at - now())::float8, latest_checkpoint"
    " FROM sluice_job_leases WHERE job = $1";

}  // namespace

Result<std::unique_ptr<Lease>> Lease::Connect(const LeaseOptions& options) {
  if (options.url.empty()) {
    return Status::User(
        "--lease-url is empty: give the PostgreSQL URL of the lease (or set "
        "SLUICE_LEASE_URL)");
  }
  if (options.holder.empty()) return Status::User("the lease needs a holder name");
  if (options.ttl_micros < 1'000'000) {
    return Status::User("--lease-ttl must be at least 1s (got {} ms)", options.ttl_micros / 1000);
  }
  // Bounded waits: a renewal must not hang on a silent server past the lease it renews. Given
  // after the URL, these override the URL's own.
  const int64_t ttl_ms = options.ttl_micros / 1000;
  const std::string connect_timeout = std::to_string(std::max<int64_t>(2, ttl_ms / 1000));
  const std::string user_timeout = std::to_string(std::max<int64_t>(2000, ttl_ms / 3));
  const char* keys[] = {"dbname",
                        "connect_timeout",
                        "tcp_user_timeout",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        nullptr};
  const char* values[] = {
      options.url.c_str(), connect_timeout.c_str(), user_timeout.c_str(), "5", "2", "3", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = ErrorOf(conn);
    std::string where = Where(conn);
    PQfinish(conn);
    return Status::Io("cannot connect to the lease's {}: {}", where, message);
  }
  std::unique_ptr<Lease> lease(new Lease(conn, options));
  SLUICE_RETURN_NOT_OK(lease->Run("SET client_min_messages = warning", {}, "setup").status());
  SLUICE_RETURN_NOT_OK(
      lease
          ->Run(fmt::format("SET statement_timeout = {}", std::max<int64_t>(2000, ttl_ms / 3)), {},
                "setup")
          .status());
  // Two coordinators creating the table at once: one of them may see a unique violation in
  // the catalog; the table exists afterwards either way.
  auto created = lease->Run(kCreate, {}, "creating sluice_job_leases");
  if (!created.ok()) {
    SLUICE_RETURN_NOT_OK(lease->Run(kCreate, {}, "creating sluice_job_leases").status());
  }
  return lease;
}

Lease::~Lease() {
  PQfinish(Conn(conn_));
}

Result<std::vector<std::vector<std::optional<std::string>>>> Lease::Run(
    const std::string& sql, const std::vector<std::string>& args, std::string_view doing) {
  bool broken = false;
  auto out = Exec(Conn(conn_), sql.c_str(), args, doing,
                  std::max<int64_t>(2000, options_.ttl_micros / 3000), &broken);
  if (broken) broken_ = true;
  return out;
}

Status Lease::Ensure() {
  if (!broken_ && PQstatus(Conn(conn_)) == CONNECTION_OK) return Status::Ok();
  return Reconnect();
}

Status Lease::Reconnect() {
  broken_ = false;
  PQreset(Conn(conn_));
  if (PQstatus(Conn(conn_)) != CONNECTION_OK) {
    broken_ = true;
    return Status::Io("cannot reconnect to the lease's {}: {}", Where(Conn(conn_)),
                      ErrorOf(Conn(conn_)));
  }
  // A new session: its settings again.
  SLUICE_RETURN_NOT_OK(Run("SET client_min_messages = warning", {}, "setup").status());
  return Run(fmt::format("SET statement_timeout = {}",
                         std::max<int64_t>(2000, options_.ttl_micros / 3000)),
             {}, "setup")
      .status();
}

Result<std::optional<int64_t>> Lease::TryAcquire() {
  SLUICE_RETURN_NOT_OK(Ensure());
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, Run(kAcquire, {options_.job, options_.holder, std::to_string(options_.ttl_micros)},
                     "acquiring"));
  if (rows.empty()) return std::optional<int64_t>();
  epoch_ = std::stoll(*rows[0][0]);
  return std::optional<int64_t>(epoch_);
}

Result<int64_t> Lease::Acquire(const std::atomic<bool>* stop, int64_t poll_micros,
                               const std::function<void(const LeaseRow&)>& standby) {
  std::string seen;  // holder and epoch last reported
  for (;;) {
    if (stop != nullptr && stop->load()) return Status::Cancelled("stopped while standing by");
    auto got = TryAcquire();
    if (got.ok() && got->has_value()) return **got;
    if (got.ok()) {
      auto row = Read();
      if (row.ok() && row->has_value()) {
        std::string now = fmt::format("{}@{}", (*row)->holder, (*row)->epoch);
        if (now != seen && standby) standby(**row);
        seen = now;
      }
    } else if (seen != "error") {
      // The database may come back: a standby keeps trying, saying so once.
      if (standby) standby(LeaseRow{got.status().message(), -1, false, 0, std::nullopt});
      seen = "error";
    }
    std::this_thread::sleep_for(std::chrono::microseconds(poll_micros));
  }
}

Result<std::optional<LeaseRow>> Lease::Read() {
  SLUICE_ASSIGN_OR_RETURN(auto rows, Run(kRead, {options_.job}, "reading"));
  if (rows.empty()) return std::optional<LeaseRow>();
  LeaseRow row;
  row.holder = rows[0][0].value_or("");
  row.epoch = std::stoll(rows[0][1].value_or("0"));
  row.expired = rows[0][2].value_or("f") == "t";
  row.seconds_left = std::strtod(rows[0][3].value_or("0").c_str(), nullptr);
  if (rows[0][4]) row.latest_checkpoint = std::stoll(*rows[0][4]);
  return std::optional<LeaseRow>(std::move(row));
}

Status Lease::Deposed(std::string_view doing) {
  auto row = Read();
  std::string now = "the row is gone";
  if (row.ok() && row->has_value()) {
    now = fmt::format("the lease is at epoch {}, held by '{}'", (*row)->epoch, (*row)->holder);
  }
  return Status::User(
      "coordinator '{}' of job '{}' is deposed: {} (this coordinator held epoch {}); {} refused, "
      "nothing committed",
      options_.holder, options_.job, now, epoch_, doing);
}

Status Lease::Renew() {
  SLUICE_RETURN_NOT_OK(Ensure());
  SLUICE_ASSIGN_OR_RETURN(
      auto rows,
      Run(kRenew, {options_.job, std::to_string(epoch_), std::to_string(options_.ttl_micros)},
          "renewing"));
  if (rows.empty()) return Deposed("renewing the lease");
  return Status::Ok();
}

Status Lease::CommitCheckpoint(int64_t checkpoint) {
  SLUICE_RETURN_NOT_OK(Ensure());
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, Run(kCommit, {options_.job, std::to_string(epoch_), std::to_string(checkpoint)},
                     "committing the checkpoint pointer"));
  if (rows.empty()) return Deposed(fmt::format("committing checkpoint {}", checkpoint));
  return Status::Ok();
}

LeaseKeeper::LeaseKeeper(std::unique_ptr<Lease> lease, std::function<void(const Status&)> lost)
    : lease_(std::move(lease)), lost_(std::move(lost)), epoch_(lease_->epoch()) {
  thread_ = std::thread([this] { Loop(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status LeaseKeeper::CommitCheckpoint(int64_t checkpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  if (lost_called_) {
    return Status::User("job '{}': the lease of epoch {} is lost; checkpoint {} not committed",
                        lease_->options().job, epoch_, checkpoint);
  }
  return lease_->CommitCheckpoint(checkpoint);
}

void LeaseKeeper::Loop() {
  using Clock = std::chrono::steady_clock;
  const auto ttl = std::chrono::microseconds(lease_->options().ttl_micros);
  auto last_renewed = Clock::now();
  // Tests: SLUICE_FAULT=lease_renewals:N renews N times, then no more (the lease runs out while
  // this coordinator runs, so its next checkpoint commit meets the fence).
  int64_t renewals_left = fault::Value(fault::kLeaseRenewals);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, ttl / 3, [this] { return stopping_; });
    if (stopping_) break;
    if (renewals_left == 0) continue;
    if (renewals_left > 0) --renewals_left;
    Status st = lease_->Renew();
    if (st.ok()) {
      last_renewed = Clock::now();
      continue;
    }
    // Deposed: stop at once. Unreachable: keep trying until a whole TTL passed without a
    // renewal, after which another coordinator may hold the lease.
    bool deposed = st.kind() == ErrorKind::kUser;
    if (!deposed && Clock::now() - last_renewed < ttl) continue;
    if (!deposed) {
      st = Status::Io(
          "job '{}': coordinator '{}' could not renew its lease (epoch {}) for {} ms, "
          "so another coordinator may hold it; stopping without committing: {}",
          lease_->options().job, lease_->options().holder, epoch_,
          std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count(), st.message());
    }
    lost_called_ = true;
    lock.unlock();
    lost_(st);
    return;
  }
}

}  // namespace sluice::dist
