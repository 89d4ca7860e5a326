// The metadata store over SQLite: migrations (applied once, recorded, a newer schema refused),
// pipelines and jobs round trips, state transitions, log messages, cascading deletes, and the
// output stream's ring (ids, lag, close). PostgreSQL runs the same store in
// tests/service/api_test.py --postgres.

#include <filesystem>

#include <gtest/gtest.h>

#include "service/output_stream.h"
#include "service/store.h"

namespace sluice::service {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-store-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    url_ = "sqlite:" + (dir_ / "meta.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string url_;
};

TEST_F(StoreTest, MigrationsApplyOnceAndAreRecorded) {
  {
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto applied = (*store)->AppliedMigrations();
    ASSERT_TRUE(applied.ok());
    EXPECT_EQ(*applied, std::vector<int64_t>({1}));
  }
  // A second open applies nothing again (a second CREATE TABLE would fail).
  auto again = Store::Open(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->AppliedMigrations(), std::vector<int64_t>({1}));
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  {
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)
                    ->db()
                    .Exec("INSERT INTO sluice_schema_migrations VALUES (99, 'future', 0)", {})
                    .ok());
  }
  auto store = Store::Open(url_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("schema version 99, newer than this sluice knows (1)"),
            std::string::npos)
      << store.status().message();
}

TEST_F(StoreTest, UnknownDatabaseUrlIsAUserError) {
  auto store = Store::Open("mysql://x");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().kind(), ErrorKind::kUser);
  EXPECT_NE(store.status().message().find("sqlite:PATH or a postgresql://"), std::string::npos);
}

TEST_F(StoreTest, PipelinesJobsTransitionsLogsAndCascade) {
  auto opened = Store::Open(url_);
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  PipelineRecord p;
  p.id = "pl_a";
  p.name = "orders";
  p.query = "SELECT 'it''s' AS q";  // quotes survive parameter binding
  p.parallelism = 3;
  p.checkpoint_interval_micros = 250000;
  p.created_at = p.updated_at = 1000;
  JobRecord j;
  j.id = "job_a";
  j.pipeline_id = "pl_a";
  j.state = "Created";
  j.created_at = 1000;
  ASSERT_TRUE(store.CreatePipeline(p, j).ok());
  PipelineRecord p2 = p;
  p2.id = "pl_b";
  p2.created_at = 2000;
  JobRecord j2 = j;
  j2.id = "job_b";
  j2.pipeline_id = "pl_b";
  j2.running_desired = false;
  ASSERT_TRUE(store.CreatePipeline(p2, j2).ok());
  // The same id twice is refused.
  EXPECT_FALSE(store.CreatePipeline(p, j).ok());

  auto got = store.GetPipeline("pl_a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->query, p.query);
  EXPECT_EQ((*got)->parallelism, 3);
  EXPECT_EQ((*got)->checkpoint_interval_micros, 250000);
  EXPECT_FALSE(store.GetPipeline("pl_zzz")->has_value());

  // Newest first, pages after an id.
  auto page = store.ListPipelines(std::nullopt, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "pl_b");
  auto next = store.ListPipelines(std::string("pl_b"), 10);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].id, "pl_a");

  j.state = "Running";
  j.start_time = 1500;
  j.restore_checkpoint = 4;
  ASSERT_TRUE(store.UpdateJob(j).ok());
  j.state = "Stopped";
  j.restore_checkpoint.reset();
  j.failure_message = "boom";
  ASSERT_TRUE(store.UpdateJob(j).ok());
  auto job = store.GetJob("job_a");
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->state, "Stopped");
  EXPECT_EQ((*job)->start_time, 1500);
  EXPECT_FALSE((*job)->restore_checkpoint.has_value());
  EXPECT_EQ((*job)->failure_message, "boom");
  auto transitions = store.TransitionsOf("job_a");
  ASSERT_EQ(transitions->size(), 2u);
  EXPECT_EQ((*transitions)[0].from_state, "Created");
  EXPECT_EQ((*transitions)[0].to_state, "Running");
  EXPECT_EQ((*transitions)[1].to_state, "Stopped");

  auto resume = store.JobsToResume();
  ASSERT_EQ(resume->size(), 1u);
  EXPECT_EQ((*resume)[0].id, "job_a");

  LogMessage m;
  m.job_id = "job_a";
  m.created_at = 10;
  m.level = "info";
  m.message = "started";
  ASSERT_TRUE(store.AddLog(m).ok());
  m.created_at = 20;
  m.level = "error";
  m.message = "failed";
  m.operator_id = "filter";
  m.task_index = 2;
  ASSERT_TRUE(store.AddLog(m).ok());
  auto errors = store.LogsOf("job_a", std::string("error"), 10);
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].message, "failed");
  EXPECT_EQ((*errors)[0].task_index, 2);
  auto all = store.LogsOf("job_a", std::nullopt, 10);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].message, "failed");  // newest first

  ASSERT_TRUE(store.DeletePipeline("pl_a").ok());
  EXPECT_FALSE(store.GetJob("job_a")->has_value());
  EXPECT_TRUE(store.LogsOf("job_a", std::nullopt, 10)->empty());
  EXPECT_TRUE(store.TransitionsOf("job_a")->empty());
}

TEST(OutputStreamTest, IdsLagAndClose) {
  OutputStream out(/*capacity_rows=*/4);
  out.Write("s", 0, "{\"a\":1}\n{\"a\":2}\n", 2);
  auto r = out.Read(-1, 10);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].id, 1);
  EXPECT_EQ(r.events[1].value, "{\"a\":2}");
  EXPECT_FALSE(r.closed);
  out.Write("s", 1, "{\"a\":3}\n{\"a\":4}\n{\"a\":5}\n", 3);  // row 1 drops out of the ring
  r = out.Read(0, 10);
  EXPECT_TRUE(r.lagged);
  EXPECT_EQ(r.first_id, 2);
  r = out.Read(3, 1);  // at most one
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].id, 4);
  EXPECT_EQ(r.events[0].subtask, 1);
  r = out.Read(-1, 10);  // a new reader starts at the oldest row held
  EXPECT_EQ(r.events.front().id, 2);
  r = out.Read(INT64_MAX, 10);  // an id from the future: nothing, no overflow
  EXPECT_TRUE(r.events.empty());
  EXPECT_FALSE(r.lagged);
  out.Close();
  r = out.Read(4, 10);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(out.rows_dropped(), 1);
  EXPECT_EQ(out.last_id(), 5);
}

}  // namespace
}  // namespace sluice::service
