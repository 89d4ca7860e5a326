// The pgoutput reader on messages built byte by byte from PostgreSQL's protocol documentation
// (https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html).

#include <gtest/gtest.h>

#include <string>

#include "connectors/postgres/pgoutput.h"

namespace sluice::connectors::postgres {
namespace {

class Bytes {
 public:
  Bytes& Byte(char c) {
    s_ += c;
    return *this;
  }
  Bytes& Int(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  Bytes& Str(const std::string& v) {
    s_ += v;
    s_ += '\0';
    return *this;
  }
  Bytes& Text(const std::string& v) {
    Byte('t').Int(v.size(), 4);
    s_ += v;
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

TEST(PgOutputTest, BeginCommitAndLsns) {
  PgOutputMessage m;
  Bytes begin;
  begin.Byte('B').Int(0x16B374D848ULL, 8).Int(1000000, 8).Int(77, 4);
  ASSERT_TRUE(ParsePgOutput(begin.str(), &m).ok());
  EXPECT_EQ(m.type, MessageType::kBegin);
  EXPECT_EQ(m.lsn.ToString(), "16/B374D848");
  EXPECT_EQ(m.commit_time_us, 946684800000000LL + 1000000);  // one second after 2000-01-01
  Bytes commit;
  commit.Byte('C').Byte(0).Int(0x100, 8).Int(0x180, 8).Int(5, 8);
  ASSERT_TRUE(ParsePgOutput(commit.str(), &m).ok());
  EXPECT_EQ(m.type, MessageType::kCommit);
  EXPECT_EQ(m.lsn.value, 0x100u);
  EXPECT_EQ(m.end_lsn.value, 0x180u);
  auto parsed = Lsn::Parse("16/B374D848");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->value, 0x16B374D848ULL);
  EXPECT_FALSE(Lsn::Parse("16B374D848").ok());
  EXPECT_FALSE(Lsn::Parse("1/G").ok());
}

TEST(PgOutputTest, RelationAndUpdateWithOldRowAndUnchangedToast) {
  PgOutputMessage m;
  Bytes rel;
  rel.Byte('R').Int(16384, 4).Str("public").Str("items").Byte('f').Int(2, 2);
  rel.Byte(1).Str("id").Int(20, 4).Int(0xffffffff, 4);
  rel.Byte(0).Str("note").Int(25, 4).Int(0xffffffff, 4);
  ASSERT_TRUE(ParsePgOutput(rel.str(), &m).ok());
  EXPECT_EQ(m.type, MessageType::kRelation);
  EXPECT_EQ(m.relation, 16384u);
  EXPECT_EQ(m.schema_name, "public");
  EXPECT_EQ(m.table_name, "items");
  EXPECT_EQ(m.replica_identity, 'f');
  ASSERT_EQ(m.columns.size(), 2u);
  EXPECT_TRUE(m.columns[0].key);
  EXPECT_EQ(m.columns[1].name, "note");
  EXPECT_EQ(m.columns[1].type_oid, 25u);

  Bytes upd;
  upd.Byte('U').Int(16384, 4).Byte('O').Int(2, 2).Text("7").Text("long");
  upd.Byte('N').Int(2, 2).Text("8").Byte('u');
  ASSERT_TRUE(ParsePgOutput(upd.str(), &m).ok());
  EXPECT_EQ(m.type, MessageType::kUpdate);
  EXPECT_TRUE(m.has_old);
  EXPECT_FALSE(m.old_is_key_only);
  EXPECT_EQ(m.old_tuple[1].text, "long");
  EXPECT_EQ(m.new_tuple[0].text, "8");
  EXPECT_EQ(m.new_tuple[1].kind, TupleValue::Kind::kUnchangedToast);

  Bytes del;
  del.Byte('D').Int(16384, 4).Byte('K').Int(2, 2).Text("8").Byte('n');
  ASSERT_TRUE(ParsePgOutput(del.str(), &m).ok());
  EXPECT_EQ(m.type, MessageType::kDelete);
  EXPECT_TRUE(m.old_is_key_only);
  EXPECT_EQ(m.old_tuple[1].kind, TupleValue::Kind::kNull);
}

TEST(PgOutputTest, TruncatedMessagesAreErrorsNotCrashes) {
  PgOutputMessage m;
  Bytes ins;
  ins.Byte('I').Int(1, 4).Byte('N').Int(1, 2).Byte('t').Int(100, 4);  // 100 bytes announced
  ins.Byte('x');
  EXPECT_FALSE(ParsePgOutput(ins.str(), &m).ok());
  Bytes rel;
  rel.Byte('R').Int(1, 4).Str("public");  // no table name terminator
  EXPECT_FALSE(ParsePgOutput(rel.str() + "abc", &m).ok());
  EXPECT_FALSE(ParsePgOutput("B", &m).ok());
  EXPECT_TRUE(ParsePgOutput("O", &m).ok());  // origin: ignored
}

TEST(PgOutputTest, FramesAndStatusUpdate) {
  ReplicationFrame f;
  Bytes w;
  w.Byte('w').Int(0x10, 8).Int(0x20, 8).Int(0, 8).Byte('B');
  ASSERT_TRUE(ParseReplicationFrame(w.str(), &f).ok());
  EXPECT_EQ(f.kind, ReplicationFrame::Kind::kXLogData);
  EXPECT_EQ(f.wal_start.value, 0x10u);
  EXPECT_EQ(f.payload, "B");
  Bytes k;
  k.Byte('k').Int(0x30, 8).Int(0, 8).Byte(1);
  ASSERT_TRUE(ParseReplicationFrame(k.str(), &f).ok());
  EXPECT_EQ(f.kind, ReplicationFrame::Kind::kKeepalive);
  EXPECT_TRUE(f.reply_requested);
  EXPECT_EQ(f.wal_end.value, 0x30u);
  std::string r = StandbyStatusUpdate(Lsn{1}, Lsn{2}, Lsn{3}, kPostgresEpochMicros + 4, false);
  Bytes expect;
  expect.Byte('r').Int(1, 8).Int(2, 8).Int(3, 8).Int(4, 8).Byte(0);
  EXPECT_EQ(r, expect.str());
}

}  // namespace
}  // namespace sluice::connectors::postgres
