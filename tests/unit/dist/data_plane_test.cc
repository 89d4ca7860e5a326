// The data plane (src/dist/data_plane.h, frame.h) over real TCP connections on loopback: messages
// arrive in order per channel, a slow channel never blocks another channel's barriers, stale
// generations are refused, and corrupt frames are clear errors.
#include "dist/data_plane.h"

#include <atomic>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "batch/column_builder.h"
#include "runtime/checksum.h"

namespace sluice::dist {
namespace {

using namespace std::chrono_literals;
using batch::BatchPtr;
using runtime::Barrier;
using runtime::EndOfData;
using runtime::Message;

// Generous: the sanitizer build is several times slower; nothing below waits this long when
// it works.
constexpr auto kDeadline = 60s;

BatchPtr MakeBatch(int64_t first, int64_t rows, const std::string& text = "") {
  batch::ColumnBuilder ib(types::Int64()), sb(types::Utf8()), tb(types::Timestamp());
  for (int64_t i = 0; i < rows; ++i) {
    ib.AppendFixed<int64_t>(first + i);
    sb.AppendString(text.empty() ? std::to_string(first + i) : text);
    tb.AppendFixed<int64_t>(1000 * (first + i));
  }
  auto b = std::make_shared<batch::Batch>();
  b->schema = std::make_shared<types::Schema>(
      std::vector<types::Field>{{"n", types::Int64(), true}, {"s", types::Utf8(), true}});
  b->columns = {ib.Finish(), sb.Finish()};
  b->event_time = tb.Finish();
  b->num_rows = rows;
  return b;
}

// Pops the next message, failing the test when none comes by the deadline.
Message Next(InboundChannel& c) {
  auto m = c.Pop(kDeadline);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (!m.ok() || !m->has_value()) {
    ADD_FAILURE() << "no message within the deadline";
    return EndOfData{};
  }
  return std::move(**m);
}

struct Pair {
  std::unique_ptr<DataPlaneReceiver> receiver;
  std::unique_ptr<DataPlaneSender> sender;
};

Pair Connect(int64_t credit, int64_t generation = 1) {
  Pair p;
  DataPlaneReceiver::Options o;
  o.job = "job-a";
  o.generation = generation;
  o.worker = 2;
  o.channel_credit_bytes = credit;
  auto r = DataPlaneReceiver::Listen("127.0.0.1", 0, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  p.receiver = r.MoveValue();
  auto s = DataPlaneSender::Connect("127.0.0.1", p.receiver->port(),
                                    Handshake{"job-a", generation, 1, 2}, 10s);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (s.ok()) p.sender = s.MoveValue();
  return p;
}

TEST(DataPlane, EveryChannelKeepsItsOrderAndContent) {
  Pair p = Connect(1 << 20);
  ASSERT_TRUE(p.sender);
  std::vector<ChannelId> ids = {{0, 0, 3, 0, 0}, {0, 1, 3, 0, 0}, {1, 0, 3, 0, 1}};
  std::vector<std::shared_ptr<OutboundChannel>> out;
  for (const auto& id : ids) out.push_back(p.sender->Channel(id));
  for (int round = 0; round < 20; ++round) {
    for (size_t c = 0; c < ids.size(); ++c) {
      ASSERT_TRUE(out[c]->Send(MakeBatch(round * 100 + static_cast<int64_t>(c), 50)).ok());
      ASSERT_TRUE(out[c]->Send(Watermark{EventTime{round * 10}}).ok());
      if (round % 5 == 4) {
        ASSERT_TRUE(out[c]->Send(Barrier{round / 5 + 1, runtime::CheckpointKind::kPeriodic}).ok());
      }
    }
  }
  ASSERT_TRUE(out[1]->Send(runtime::Idle{}).ok());
  for (auto& o : out) {
    ASSERT_TRUE(o->Send(Barrier{9, runtime::CheckpointKind::kEnd}).ok());
    ASSERT_TRUE(o->Send(EndOfData{}).ok());
  }
  for (size_t c = 0; c < ids.size(); ++c) {
    auto in = p.receiver->Channel(ids[c]);
    for (int round = 0; round < 20; ++round) {
      Message m = Next(*in);
      ASSERT_TRUE(std::holds_alternative<BatchPtr>(m)) << "channel " << c << " round " << round;
      EXPECT_EQ(std::get<BatchPtr>(m)->ToString(),
                MakeBatch(round * 100 + static_cast<int64_t>(c), 50)->ToString());
      m = Next(*in);
      ASSERT_TRUE(std::holds_alternative<Watermark>(m));
      EXPECT_EQ(std::get<Watermark>(m).time.value, round * 10);
      if (round % 5 == 4) {
        m = Next(*in);
        ASSERT_TRUE(std::holds_alternative<Barrier>(m));
        EXPECT_EQ(std::get<Barrier>(m).epoch, round / 5 + 1);
      }
    }
    if (c == 1) {
      EXPECT_TRUE(std::holds_alternative<runtime::Idle>(Next(*in)));
    }
    Message last = Next(*in);
    ASSERT_TRUE(std::holds_alternative<Barrier>(last));
    EXPECT_EQ(std::get<Barrier>(last).kind, runtime::CheckpointKind::kEnd);
    EXPECT_TRUE(std::holds_alternative<EndOfData>(Next(*in)));
  }
}

// The point of per-channel credits: channel A's consumer does not read, and A's producer has
// far more than the socket buffers can hold to send; channel B's barrier still arrives, and A
// never holds more than its credit (plus one batch) at the receiver.
// A sender closes as soon as its last frame is written, while the receiver is still reading
// and sending credits back: every batch and the end of data still arrive (a close() with
// unread credit frames would reset the connection and drop what was not delivered yet).
TEST(DataPlane, CloseRightAfterTheLastFrameLosesNothing) {
  for (int round = 0; round < 5; ++round) {
    Pair p = Connect(8 << 20);
    ASSERT_TRUE(p.sender);
    ChannelId id{1, 0, 2, 0, 0};
    auto out = p.sender->Channel(id);
    auto in = p.receiver->Channel(id);
    constexpr int64_t kBatches = 400;
    constexpr int64_t kRows = 1000;
    std::atomic<int64_t> rows{0};
    std::atomic<bool> ended{false};
    std::thread consumer([&] {
      for (;;) {
        auto m = in->Pop(kDeadline);
        if (!m.ok() || !m->has_value()) return;
        if (auto* b = std::get_if<BatchPtr>(&**m)) rows += (*b)->num_rows;
        if (std::holds_alternative<EndOfData>(**m)) {
          ended = true;
          return;
        }
      }
    });
    for (int64_t i = 0; i < kBatches; ++i) ASSERT_TRUE(out->Send(MakeBatch(i * kRows, kRows)).ok());
    ASSERT_TRUE(out->Send(EndOfData{}).ok());
    p.sender->Close();
    consumer.join();
    EXPECT_EQ(rows.load(), kBatches * kRows) << "round " << round;
    EXPECT_TRUE(ended.load()) << "round " << round;
  }
}

TEST(DataPlane, SlowChannelDoesNotBlockAnotherChannelsBarriers) {
  constexpr int64_t kCredit = 256 << 10;
  constexpr int kBatches = 256;  // about 16 MB on channel A
  Pair p = Connect(kCredit);
  ASSERT_TRUE(p.sender);
  ChannelId a{0, 0, 1, 0, 0}, b{0, 1, 1, 1, 0};
  auto out_a = p.sender->Channel(a);
  auto out_b = p.sender->Channel(b);
  const std::string text(60, 'x');
  std::atomic<int> a_sent{0};
  std::thread producer([&] {
    for (int i = 0; i < kBatches; ++i) {
      if (!out_a->Send(MakeBatch(i * 1000, 1000, text)).ok()) return;
      ++a_sent;
    }
    (void)out_a->Send(Barrier{1, runtime::CheckpointKind::kPeriodic});
    (void)out_a->Send(EndOfData{});
  });
  // Wait until A ran out of credit: its producer is now parked.
  auto in_a = p.receiver->Channel(a);
  auto until = std::chrono::steady_clock::now() + kDeadline;
  while (out_a->credit() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_LE(out_a->credit(), 0);
  // B's batch and barrier pass although A's receiver holds a full window and reads nothing.
  ASSERT_TRUE(out_b->Send(MakeBatch(7, 10)).ok());
  ASSERT_TRUE(out_b->Send(Barrier{1, runtime::CheckpointKind::kPeriodic}).ok());
  auto in_b = p.receiver->Channel(b);
  EXPECT_TRUE(std::holds_alternative<BatchPtr>(Next(*in_b)));
  Message barrier = Next(*in_b);
  ASSERT_TRUE(std::holds_alternative<Barrier>(barrier));
  EXPECT_EQ(std::get<Barrier>(barrier).epoch, 1);
  // A is bounded by its credit: at most the credit plus one batch is queued.
  int64_t one_batch = 0;
  {
    std::string frame;
    one_batch = static_cast<int64_t>(EncodeMessage(a, MakeBatch(0, 1000, text), &frame));
  }
  EXPECT_LE(in_a->queued_bytes(), kCredit + one_batch);
  EXPECT_LT(a_sent.load(), kBatches);
  // Now A's consumer reads: every batch arrives in order, then its barrier and end.
  for (int i = 0; i < kBatches; ++i) {
    Message m = Next(*in_a);
    ASSERT_TRUE(std::holds_alternative<BatchPtr>(m)) << i;
    EXPECT_EQ(std::get<BatchPtr>(m)->columns[0]->GetValue(0).int_value(), i * 1000);
    EXPECT_LE(in_a->queued_bytes(), kCredit + one_batch);
  }
  EXPECT_TRUE(std::holds_alternative<Barrier>(Next(*in_a)));
  EXPECT_TRUE(std::holds_alternative<EndOfData>(Next(*in_a)));
  producer.join();
  EXPECT_EQ(a_sent.load(), kBatches);
}

TEST(DataPlane, StaleGenerationIsRefused) {
  DataPlaneReceiver::Options o;
  o.job = "job-a";
  o.generation = 2;
  o.worker = 2;
  auto r = DataPlaneReceiver::Listen("127.0.0.1", 0, o);
  ASSERT_TRUE(r.ok());
  auto stale =
      DataPlaneSender::Connect("127.0.0.1", (*r)->port(), Handshake{"job-a", 1, 1, 2}, 10s);
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.status().message().find("stale generation: the connection is of generation 1, "
                                          "worker 2 runs generation 2"),
            std::string::npos)
      << stale.status().message();
  auto other_job =
      DataPlaneSender::Connect("127.0.0.1", (*r)->port(), Handshake{"job-b", 2, 1, 2}, 10s);
  ASSERT_FALSE(other_job.ok());
  EXPECT_NE(other_job.status().message().find("runs job 'job-a', not 'job-b'"), std::string::npos);

  // A connection of the current generation works until the job moves to the next one: then
  // it is cut and its unfinished channel reports the failure.
  auto current =
      DataPlaneSender::Connect("127.0.0.1", (*r)->port(), Handshake{"job-a", 2, 1, 2}, 10s);
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  ChannelId id{0, 0, 1, 0, 0};
  ASSERT_TRUE((*current)->Channel(id)->Send(MakeBatch(1, 3)).ok());
  auto in = (*r)->Channel(id);
  EXPECT_TRUE(std::holds_alternative<BatchPtr>(Next(*in)));
  (*r)->SetGeneration(3);
  auto m = in->Pop(kDeadline);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("from worker 1"), std::string::npos) << m.status().message();
}

TEST(DataPlane, AssignTakesANewDeploymentAndRefusesTheOldOne) {
  // A worker's receiver before any deployment (worker -1) refuses everyone; after Assign it
  // accepts that job, worker and generation only; a later Assign (a redeployment at a new
  // generation) cuts the old connections, refuses their generation and starts empty channels.
  DataPlaneReceiver::Options o;
  o.worker = -1;
  auto r = DataPlaneReceiver::Listen("127.0.0.1", 0, o);
  ASSERT_TRUE(r.ok());
  auto early = DataPlaneSender::Connect("127.0.0.1", (*r)->port(), Handshake{"job", 1, 0, 1}, 10s);
  ASSERT_FALSE(early.ok());
  (*r)->Assign("job", 1, 1);
  auto first = DataPlaneSender::Connect("127.0.0.1", (*r)->port(), Handshake{"job", 1, 0, 1}, 10s);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ChannelId id{0, 0, 1, 1, 0};
  ASSERT_TRUE((*first)->Channel(id)->Send(MakeBatch(1, 3)).ok());
  auto old_in = (*r)->Channel(id);
  EXPECT_TRUE(std::holds_alternative<BatchPtr>(Next(*old_in)));
  ASSERT_TRUE((*first)->Channel(id)->Send(MakeBatch(7, 2)).ok());  // left unread

  (*r)->Assign("job", 1, 2);
  auto stale = DataPlaneSender::Connect("127.0.0.1", (*r)->port(), Handshake{"job", 1, 0, 1}, 10s);
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.status().message().find("stale generation"), std::string::npos)
      << stale.status().message();
  auto second = DataPlaneSender::Connect("127.0.0.1", (*r)->port(), Handshake{"job", 2, 0, 1}, 10s);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto in = (*r)->Channel(id);
  EXPECT_NE(in.get(), old_in.get());
  EXPECT_EQ(in->queued(), 0u);  // the old generation's unread batch is not in the new channel
  ASSERT_TRUE((*second)->Channel(id)->Send(MakeBatch(100, 1)).ok());
  auto m = Next(*in);
  ASSERT_TRUE(std::holds_alternative<BatchPtr>(m));
  EXPECT_EQ(std::get<BatchPtr>(m)->columns[0]->raw<int64_t>()[0], 100);
}

TEST(DataPlane, LostSenderFailsItsUnfinishedChannelsOnly) {
  Pair p = Connect(1 << 20);
  ASSERT_TRUE(p.sender);
  ChannelId done{0, 0, 1, 0, 0}, open{0, 1, 1, 0, 0};
  ASSERT_TRUE(p.sender->Channel(done)->Send(EndOfData{}).ok());
  ASSERT_TRUE(p.sender->Channel(open)->Send(MakeBatch(1, 2)).ok());
  auto in_done = p.receiver->Channel(done);
  auto in_open = p.receiver->Channel(open);
  EXPECT_TRUE(std::holds_alternative<EndOfData>(Next(*in_done)));
  EXPECT_TRUE(std::holds_alternative<BatchPtr>(Next(*in_open)));
  p.sender->Close();  // as a killed worker's connection ends
  auto m = in_open->Pop(kDeadline);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("closed"), std::string::npos) << m.status().message();
  // The ended channel has nothing more and no error.
  auto none = in_done->Pop(10ms);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(Frame, TruncatedOrCorruptFramesAreErrors) {
  std::string frame;
  ChannelId id{1, 2, 3, 4, 1};
  EncodeMessage(id, MakeBatch(5, 20), &frame);
  auto ok = DecodeFrame(frame);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->channel, id);

  auto truncated = DecodeFrame(std::string_view(frame).substr(0, frame.size() - 3));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("its length says"), std::string::npos);

  std::string flipped = frame;
  flipped[flipped.size() - 10] ^= 0x40;
  auto corrupt = DecodeFrame(flipped);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.status().message().find("checksum does not match"), std::string::npos);

  std::string kind = frame;
  kind[4] = 42;
  auto bad_kind = DecodeFrame(kind);
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_NE(bad_kind.status().message().find("unknown frame kind 42"), std::string::npos);
}

// A bounded fuzz run of the decoder: random mutations of valid frames of every kind (with the
// checksum fixed up half of the time, so the payload decoders are reached) must decode or fail
// with a Status, never crash (the sanitizer build checks the reads).
TEST(Frame, DecoderSurvivesMutatedFrames) {
  std::vector<std::string> seeds;
  ChannelId id{0, 1, 2, 3, 0};
  for (const Message& m : std::vector<Message>{MakeBatch(1, 5), Watermark{EventTime{7}},
                                               Barrier{3, runtime::CheckpointKind::kStop},
                                               EndOfData{}, runtime::Idle{}}) {
    std::string f;
    EncodeMessage(id, m, &f);
    seeds.push_back(f);
  }
  std::string credit;
  EncodeCredit(id, 4096, &credit);
  seeds.push_back(credit);
  std::mt19937_64 rng(14);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string f = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % f.size();
      switch (rng() % 3) {
        case 0:
          f[at] = static_cast<char>(rng());
          break;
        case 1:
          f.erase(at, 1 + rng() % 8);
          break;
        default:
          f.insert(at, std::string(1 + rng() % 8, static_cast<char>(rng())));
      }
      if (f.empty()) f = "x";
    }
    if (rng() % 2 == 0 && f.size() >= kFrameHeaderBytes) {
      auto length = static_cast<uint32_t>(f.size() - 4);
      std::memcpy(f.data(), &length, 4);
      uint64_t sum = runtime::Checksum64(std::string_view(f).substr(kFrameHeaderBytes));
      std::memcpy(f.data() + kFrameHeaderBytes - 8, &sum, 8);
    }
    auto r = DecodeFrame(f);
    if (r.ok()) ++decoded;
  }
  // Some mutations leave a valid frame (a changed channel or watermark): the loop reached them.
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace sluice::dist
