#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "batch/column_builder.h"
#include "runtime/checkpoint_metadata.h"
#include "runtime/checkpoint_storage.h"
#include "runtime/checkpoint_store.h"
#include "runtime/state.h"

namespace sluice::runtime {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sluice-ckpt-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::shared_ptr<CheckpointStorage> Open(const std::string& url) {
  auto s = OpenCheckpointStorage(url);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : nullptr;
}

batch::BatchPtr IntBatch(std::vector<int64_t> values) {
  batch::ColumnBuilder v(types::Int64()), t(types::Timestamp());
  for (int64_t x : values) {
    v.AppendFixed<int64_t>(x);
    t.AppendFixed<int64_t>(x);
  }
  auto b = std::make_shared<batch::Batch>();
  b->schema = std::make_shared<types::Schema>(std::vector<types::Field>{{"v", types::Int64()}});
  b->columns = {v.Finish()};
  b->event_time = t.Finish();
  b->num_rows = static_cast<int64_t>(values.size());
  return b;
}

TEST(CheckpointStorage, LocalPutGetListDelete) {
  TempDir dir;
  auto storage = Open("file://" + dir.path() + "/state");
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->Put("chk-1/0-0.state", "abc").ok());
  ASSERT_TRUE(storage->Put("chk-1/_metadata", "m").ok());
  ASSERT_TRUE(storage->Put("chk-1/0-0.state", "replaced").ok());
  auto got = storage->Get("chk-1/0-0.state");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, "replaced");
  auto missing = storage->Get("chk-2/_metadata");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto keys = storage->List("chk-");
  ASSERT_TRUE(keys.ok());
  // No temporary file is left behind by a completed Put.
  EXPECT_EQ(*keys, (std::vector<std::string>{"chk-1/0-0.state", "chk-1/_metadata"}));
  ASSERT_TRUE(storage->Delete("chk-1/0-0.state").ok());
  ASSERT_TRUE(storage->Delete("chk-1/_metadata").ok());
  ASSERT_TRUE(storage->Delete("chk-1/_metadata").ok());   // missing: fine
  EXPECT_FALSE(fs::exists(dir.path() + "/state/chk-1"));  // empty directories go too
}

TEST(CheckpointStorage, UrlsAndErrors) {
  TempDir dir;
  EXPECT_NE(Open(dir.path() + "/plain/path/"), nullptr);
  // s3:// URLs are parsed before any request: an unknown option is a user error.
  auto s3 = OpenCheckpointStorage("s3://bucket/prefix?colour=red");
  ASSERT_FALSE(s3.ok());
  EXPECT_EQ(s3.status().kind(), ErrorKind::kUser);
  EXPECT_NE(s3.status().message().find("unknown option 'colour'"), std::string::npos)
      << s3.status().message();
  auto gs = OpenCheckpointStorage("gs://bucket");
  ASSERT_FALSE(gs.ok());
  EXPECT_EQ(gs.status().kind(), ErrorKind::kUser);
  std::ofstream(dir.path() + "/file") << "x";
  auto file = OpenCheckpointStorage(dir.path() + "/file");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("not a directory"), std::string::npos);
}

TEST(CheckpointMetadata, RoundTripsAndDetectsCorruption) {
  CheckpointMetadata m;
  m.checkpoint = 12;
  m.kind = CheckpointKind::kStop;
  m.created_micros = 1700000000000000;
  m.fingerprint = QueryFingerprint("plan");
  m.operators = {"single_file source", "filter_project", "single_file sink"};
  m.nodes = {{0, 1, {0}}, {1, 4, {1, 2}}};
  m.files = {{"0-0.state", 10, 0x1234}, {"1-0.state", 20, 0xabcdef}};
  std::string text = m.Encode();
  auto back = CheckpointMetadata::Decode(text, "meta");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->checkpoint, 12);
  EXPECT_EQ(back->kind, CheckpointKind::kStop);
  EXPECT_EQ(back->fingerprint, m.fingerprint);
  EXPECT_EQ(back->operators, m.operators);
  ASSERT_EQ(back->nodes.size(), 2u);
  EXPECT_EQ(back->nodes[1].operator_ids, (std::vector<int>{1, 2}));
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[1].checksum, 0xabcdefu);
  for (size_t i = 0; i < text.size(); i += 7) {
    std::string bad = text;
    bad[i] = bad[i] == 'x' ? 'y' : 'x';
    EXPECT_FALSE(CheckpointMetadata::Decode(bad, "meta").ok()) << i;
  }
  EXPECT_FALSE(CheckpointMetadata::Decode(text.substr(0, text.size() / 2), "meta").ok());
}

TEST(StateFile, RoundTripAndReaderScopes) {
  // Two subtasks of one node wrote pieces of operators 3 and 4.
  std::vector<TaskState> states(2);
  for (int s = 0; s < 2; ++s) {
    states[s].checkpoint = 5;
    states[s].node = 1;
    states[s].subtask = s;
    states[s].parallelism = 2;
    StateWriter op3(&states[s].pieces, 3), op4(&states[s].pieces, 4);
    op3.Put("position", "pos" + std::to_string(s));
    op4.PutBatch("rows", *IntBatch({s * 10, s * 10 + 1}));
    op4.PutBatch("rows", *IntBatch({s * 10 + 2}));
  }
  std::vector<TaskState> decoded;
  for (const auto& st : states) {
    std::string bytes = EncodeTaskState(st);
    auto back = DecodeTaskState(bytes, "file");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    decoded.push_back(back.MoveValue());
    // Any flipped byte is detected.
    for (size_t i = 0; i < bytes.size(); i += 5) {
      std::string bad = bytes;
      bad[i] ^= 0x40;
      EXPECT_FALSE(DecodeTaskState(bad, "file").ok()) << i;
    }
  }
  std::vector<const TaskState*> previous = {&decoded[0], &decoded[1]};
  // Subtask 1 of operator 3 sees its own bytes; a third subtask (rescaled up) sees none.
  StateReader r3(5, 3, 1, previous);
  auto pos = r3.Get("position");
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(pos->value_or(""), "pos1");
  StateReader r3_new(5, 3, 2, previous);
  EXPECT_FALSE(r3_new.Get("position")->has_value());
  EXPECT_EQ(r3_new.previous_parallelism(), 2);
  // Batches come from every previous subtask, for re-sharding.
  StateReader r4(5, 4, 0, previous);
  auto batches = r4.GetBatches("rows");
  ASSERT_TRUE(batches.ok());
  std::vector<int64_t> seen;
  for (const auto& b : *batches) {
    for (int64_t i = 0; i < b->num_rows; ++i) seen.push_back(b->columns[0]->raw<int64_t>()[i]);
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 10, 11, 12}));
  EXPECT_FALSE(r4.Get("position")->has_value());  // operator 3's piece, not 4's
  EXPECT_FALSE(r4.Get("rows").ok());              // batches, not bytes
}

TEST(StateFile, OwnedPiecesAndTheBytesOfEverySubtask) {
  // Subtask 0 of operator 3 stored an owned (bulk) piece, subtask 1 none; operator 4 a batch.
  std::vector<TaskState> states(2);
  for (int s = 0; s < 2; ++s) {
    states[s].checkpoint = 5;
    states[s].subtask = s;
    states[s].parallelism = 2;
  }
  StateWriter(&states[0].pieces, 3).PutOwned("pending", std::string("ab\0cd", 5), true);
  StateWriter(&states[1].pieces, 4).PutBatch("pending", *IntBatch({1}));
  EXPECT_TRUE(states[0].pieces[0].bulk);
  std::vector<TaskState> decoded;
  for (const auto& st : states) {
    auto back = DecodeTaskState(EncodeTaskState(st), "file");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    decoded.push_back(back.MoveValue());
  }
  std::vector<const TaskState*> previous = {&decoded[0], &decoded[1]};
  // Any subtask of the new run sees the bytes of every old subtask, by old index.
  auto all = StateReader(5, 3, 1, previous).GetAllBytes("pending");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  ASSERT_TRUE((*all)[0].has_value());
  EXPECT_EQ(*(*all)[0], std::string_view("ab\0cd", 5));
  EXPECT_FALSE((*all)[1].has_value());
  // Operator 4's piece holds a batch, not bytes.
  EXPECT_FALSE(StateReader(5, 4, 0, previous).GetAllBytes("pending").ok());
}

TEST(StateFile, PiecesOfPartsEncodeAsTheirConcatenation) {
  // The same bytes as one owned payload and as parts kept alive by an owner: the files are
  // byte for byte the same (size, checksum and all), and the owner lives as long as the piece.
  const std::string whole("head\0er|records|arena bytes", 28);
  auto owner = std::make_shared<std::string>(whole);
  std::weak_ptr<std::string> watch = owner;
  TaskState as_payload, as_parts;
  StateWriter(&as_payload.pieces, 3).PutOwned("pending", whole, true);
  {
    const std::string_view v(*owner);
    StateWriter(&as_parts.pieces, 3)
        .PutParts("pending", {v.substr(0, 7), v.substr(7, 0), v.substr(7, 9), v.substr(16)},
                  std::move(owner), true);
  }
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(as_parts.pieces[0].size(), whole.size());
  EXPECT_TRUE(as_parts.pieces[0].bulk);
  EXPECT_EQ(EncodedTaskStateSize(as_parts), EncodedTaskStateSize(as_payload));
  const std::string bytes = EncodeTaskState(as_parts);
  EXPECT_EQ(bytes, EncodeTaskState(as_payload));
  auto back = DecodeTaskState(bytes, "file");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->pieces.at(0).payload, whole);
  as_parts.pieces.clear();
  EXPECT_TRUE(watch.expired());
}

// A task's state file written by CheckpointStore and read back.
Result<std::string> StoredPayload(CheckpointStore& store, const TaskState& st, size_t* file_size) {
  SLUICE_ASSIGN_OR_RETURN(CheckpointMetadata::File file, store.WriteStateFile(st));
  *file_size = file.size;
  CheckpointMetadata m;
  m.checkpoint = st.checkpoint;
  m.fingerprint = "f";
  m.operators = {"op"};
  m.nodes = {{0, 1, {0}}};
  m.files = {file};
  SLUICE_RETURN_NOT_OK(store.WriteMetadata(m));
  SLUICE_ASSIGN_OR_RETURN(LoadedCheckpoint c, store.Load(st.checkpoint));
  return c.states.at({0, 0}).pieces.at(0).payload;
}

TEST(CheckpointStore, BulkPiecesAreCompressedFasterAndReadTheSame) {
  // JSON-like records (a few MB): compressible, not trivially.
  std::string text;
  uint64_t x = 42;
  while (text.size() < (4u << 20)) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    text += "{\"auction\":" + std::to_string(1000 + (x >> 50)) +
            ",\"bidder\":" + std::to_string(x >> 40) +
            ",\"price\":" + std::to_string((x >> 20) % 100000) + ",\"channel\":\"channel-" +
            std::to_string((x >> 33) % 100) + "\"}\n";
  }
  TempDir dir;
  CheckpointStore store(Open(dir.path()));
  size_t sizes[2] = {0, 0};
  for (const bool bulk : {false, true}) {
    TaskState st;
    st.checkpoint = bulk ? 2 : 1;
    StateWriter(&st.pieces, 0).PutOwned("records", text, bulk);
    auto payload = StoredPayload(store, st, &sizes[bulk]);
    ASSERT_TRUE(payload.ok()) << payload.status().ToString();
    EXPECT_EQ(*payload, text);
  }
  // Both compress; the bulk file at the faster level less so.
  EXPECT_LT(sizes[1], text.size() / 2);
  EXPECT_GT(sizes[1], sizes[0]);
}

// Writes a complete checkpoint with one task.
void WriteCheckpoint(CheckpointStore& store, int64_t n, const std::string& payload) {
  TaskState st;
  st.checkpoint = n;
  StateWriter(&st.pieces, 0).Put("p", payload);
  auto file = store.WriteStateFile(n, 0, 0, EncodeTaskState(st));
  ASSERT_TRUE(file.ok());
  CheckpointMetadata m;
  m.checkpoint = n;
  m.fingerprint = "f";
  m.operators = {"op"};
  m.nodes = {{0, 1, {0}}};
  m.files = {*file};
  ASSERT_TRUE(store.WriteMetadata(m).ok());
}

std::string PayloadOf(const LoadedCheckpoint& c) {
  return c.states.at({0, 0}).pieces.at(0).payload;
}

TEST(CheckpointStore, LatestIsUsedAndOnlyMetadataMakesACheckpoint) {
  TempDir dir;
  CheckpointStore store(Open(dir.path()));
  std::vector<std::string> warnings;
  auto none = store.LoadLatest(&warnings);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  WriteCheckpoint(store, 1, "one");
  WriteCheckpoint(store, 2, "two");
  // Checkpoint 3 has its state file but no metadata (a crash before completion).
  ASSERT_TRUE(store.WriteStateFile(3, 0, 0, "partial").ok());
  auto latest = store.LoadLatest(&warnings);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->metadata.checkpoint, 2);
  EXPECT_EQ(PayloadOf(**latest), "two");
  EXPECT_TRUE(warnings.empty());
  auto listing = store.List();
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->complete, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(listing->incomplete, (std::vector<int64_t>{3}));
  EXPECT_EQ(listing->max_id, 3);
}

TEST(CheckpointStore, CorruptOrMissingFilesFallBackToThePreviousCheckpoint) {
  TempDir dir;
  CheckpointStore store(Open(dir.path()));
  WriteCheckpoint(store, 1, "one");
  WriteCheckpoint(store, 2, "two");
  WriteCheckpoint(store, 3, "three");
  // 3: a flipped byte in its state file; 2: its state file is gone.
  std::string path3 = dir.path() + "/chk-3/0-0.state";
  std::string bytes;
  {
    std::ifstream in(path3, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() - 2] ^= 1;
  std::ofstream(path3, std::ios::binary | std::ios::trunc) << bytes;
  fs::remove(dir.path() + "/chk-2/0-0.state");
  std::vector<std::string> warnings;
  auto latest = store.LoadLatest(&warnings);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->metadata.checkpoint, 1);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("checkpoint 3"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("checksum mismatch"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("restoring checkpoint 1 instead"), std::string::npos);
  EXPECT_NE(warnings[1].find("checkpoint 2"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[1].find("missing"), std::string::npos) << warnings[1];
  // With the last one broken too, nothing is usable: an error, not a silent fresh start.
  fs::remove(dir.path() + "/chk-1/_metadata");
  std::ofstream(dir.path() + "/chk-1/_metadata") << "sluice checkpoint\ngarbage\n";
  warnings.clear();
  auto nothing = store.LoadLatest(&warnings);
  ASSERT_FALSE(nothing.ok());
  EXPECT_NE(nothing.status().message().find("no usable checkpoint"), std::string::npos);
}

TEST(CheckpointStore, RetainKeepsTheNewestAndRemovesAbandonedOnes) {
  TempDir dir;
  CheckpointStore store(Open(dir.path()));
  ASSERT_TRUE(store.WriteStateFile(1, 0, 0, "abandoned").ok());
  for (int64_t n = 2; n <= 6; ++n) WriteCheckpoint(store, n, "x");
  ASSERT_TRUE(store.WriteStateFile(7, 0, 0, "in flight").ok());
  ASSERT_TRUE(store.Retain(3, 6).ok());
  auto listing = store.List();
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->complete, (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(listing->incomplete, (std::vector<int64_t>{7}));  // newer: still being written
  EXPECT_FALSE(fs::exists(dir.path() + "/chk-1"));
  EXPECT_FALSE(fs::exists(dir.path() + "/chk-3"));
}

}  // namespace
}  // namespace sluice::runtime
