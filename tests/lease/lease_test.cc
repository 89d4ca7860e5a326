// The coordinator's lease and fencing (src/dist/lease.h) against the real PostgreSQL of the
// postgres_server fixture (SLUICE_POSTGRES_DIR/conninfo). Every time is the database's.

#include "dist/lease.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace sluice::dist {
namespace {

std::string Conninfo() {
  const char* dir = std::getenv("SLUICE_POSTGRES_DIR");
  if (dir == nullptr) {
    ADD_FAILURE() << "SLUICE_POSTGRES_DIR is not set: run under ctest (fixture postgres_server)";
    return "";
  }
  std::ifstream in(std::string(dir) + "/conninfo");
  std::string line;
  std::getline(in, line);
  return line;
}

// A job name of its own per test, so reruns and other tests never share a row.
std::string Job(const std::string& name) {
  return name + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::unique_ptr<Lease> Open(const std::string& job, const std::string& holder,
                            int64_t ttl = 1'000'000) {
  auto lease = Lease::Connect({Conninfo(), job, holder, ttl});
  EXPECT_TRUE(lease.ok()) << lease.status().ToString();
  return lease.ok() ? std::move(*lease) : nullptr;
}

// Runs SQL on the server directly (what an operator would see).
std::string Query(const std::string& sql) {
  PGconn* conn = PQconnectdb(Conninfo().c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  std::string out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
    for (int c = 0; c < PQnfields(r); ++c) {
      if (c) out += "|";
      out += PQgetisnull(r, 0, c) ? "NULL" : PQgetvalue(r, 0, c);
    }
  } else if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    out = std::string("error: ") + PQerrorMessage(conn);
  }
  PQclear(r);
  PQfinish(conn);
  return out;
}

std::string Row(const std::string& job) {
  return Query("SELECT holder, epoch, latest_checkpoint FROM sluice_job_leases WHERE job = '" +
               job + "'");
}

// Waits (by the database's clock) until the job's lease expired; generous for slow machines.
bool WaitExpired(Lease* any) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto row = any->Read();
    if (row.ok() && row->has_value() && (*row)->expired) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(Lease, FirstAcquireInsertsEpochOneAndOthersWait) {
  std::string job = Job("first");
  auto a = Open(job, "a", 30'000'000);
  auto b = Open(job, "b", 30'000'000);
  ASSERT_TRUE(a && b);
  auto got = a->TryAcquire();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value_or(-1), 1);
  EXPECT_EQ(Row(job), "a|1|NULL");
  auto other = b->TryAcquire();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value()) << "b took a running lease";
  EXPECT_EQ(Row(job), "a|1|NULL");
  // The holder taking it again (a restarted process of the same name) is a new epoch.
  got = a->TryAcquire();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value_or(-1), 2);
  EXPECT_EQ(Row(job), "a|2|NULL");
}

TEST(Lease, CommitsWhileHeldAndIsFencedOnceDeposed) {
  std::string job = Job("fenced");
  auto a = Open(job, "a");
  auto b = Open(job, "b");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->TryAcquire()->value_or(-1), 1);
  ASSERT_TRUE(a->CommitCheckpoint(5).ok());
  ASSERT_TRUE(a->Renew().ok());
  EXPECT_EQ(Row(job), "a|1|5");

  // a stops renewing (paused); its lease runs out; b takes over at epoch 2.
  ASSERT_TRUE(WaitExpired(b.get()));
  auto got = b->TryAcquire();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->value_or(-1), 2);

  // a wakes: its commit updates no row and says why; the pointer is still 5.
  Status commit = a->CommitCheckpoint(6);
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.kind(), ErrorKind::kUser);
  EXPECT_NE(commit.message().find("coordinator 'a' of job '" + job +
                                  "' is deposed: the lease is at epoch 2, held by 'b' (this "
                                  "coordinator held epoch 1); committing checkpoint 6 refused"),
            std::string::npos)
      << commit.message();
  EXPECT_EQ(Row(job), "b|2|5");
  Status renew = a->Renew();
  ASSERT_FALSE(renew.ok());
  EXPECT_NE(renew.message().find("renewing the lease refused"), std::string::npos);
  EXPECT_EQ(Row(job), "b|2|5");

  // The new holder commits.
  ASSERT_TRUE(b->CommitCheckpoint(6).ok());
  EXPECT_EQ(Row(job), "b|2|6");
  auto row = a->Read();
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->latest_checkpoint.value_or(-1), 6);
}

TEST(Lease, StandbyAcquiresWhenTheLeaseRunsOut) {
  std::string job = Job("standby");
  auto a = Open(job, "a");
  auto b = Open(job, "b");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->TryAcquire()->value_or(-1), 1);
  int reports = 0;
  std::string seen;
  auto got = b->Acquire(nullptr, 50'000, [&](const LeaseRow& row) {
    ++reports;
    seen = row.holder + "@" + std::to_string(row.epoch);
  });
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, 2);
  EXPECT_EQ(reports, 1);  // one report per holder seen, not one per poll
  EXPECT_EQ(seen, "a@1");
  EXPECT_EQ(Row(job), "b|2|NULL");
}

TEST(Lease, StandbyStopsWhenAsked) {
  std::string job = Job("stop");
  auto a = Open(job, "a", 60'000'000);
  auto b = Open(job, "b", 60'000'000);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->TryAcquire()->value_or(-1), 1);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  auto got = b->Acquire(&stop, 20'000, nullptr);
  stopper.join();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().kind(), ErrorKind::kCancelled);
  EXPECT_EQ(Row(job), "a|1|NULL");
}

TEST(Lease, KeeperReportsDepositionAndRefusesCommits) {
  std::string job = Job("keeper");
  auto a = Open(job, "a", 1'500'000);
  auto b = Open(job, "b", 1'500'000);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->TryAcquire()->value_or(-1), 1);
  std::mutex mu;
  std::string lost;
  std::atomic<bool> called{false};
  LeaseKeeper keeper(std::move(a), [&](const Status& st) {
    std::lock_guard<std::mutex> lock(mu);
    lost = st.message();
    called = true;
  });
  ASSERT_TRUE(keeper.CommitCheckpoint(3).ok());
  EXPECT_EQ(Row(job), "a|1|3");
  // Another coordinator takes the row behind a's back (as after a pause past the TTL).
  ASSERT_EQ(Query("UPDATE sluice_job_leases SET expires_at = now() - interval '1 second' "
                  "WHERE job = '" +
                  job + "'"),
            "");
  ASSERT_EQ(b->TryAcquire()->value_or(-1), 2);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!called && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(called) << "the keeper never noticed";
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_NE(lost.find("is deposed: the lease is at epoch 2, held by 'b'"), std::string::npos)
        << lost;
  }
  Status commit = keeper.CommitCheckpoint(4);
  EXPECT_FALSE(commit.ok());
  EXPECT_EQ(Row(job), "b|2|3");
}

TEST(Lease, ConnectErrorsNameTheServerButNotThePassword) {
  auto lease = Lease::Connect(
      {"postgresql://sluice:s3cretpw@127.0.0.1:1/db?connect_timeout=5", "j", "a", 10'000'000});
  ASSERT_FALSE(lease.ok());
  std::string m = lease.status().message();
  EXPECT_NE(m.find("cannot connect to the lease's PostgreSQL at 127.0.0.1:1 (database db)"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("s3cretpw"), std::string::npos) << m;
  auto empty = Lease::Connect({"", "j", "a", 10'000'000});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("--lease-url is empty"), std::string::npos);
  auto short_ttl = Lease::Connect({Conninfo(), "j", "a", 500'000});
  ASSERT_FALSE(short_ttl.ok());
  EXPECT_NE(short_ttl.status().message().find("--lease-ttl must be at least 1s"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::dist
