// DeclaredTables: the catalog the web console shows beside its editor.
#include "sql/binder/declared_tables.h"

#include <gtest/gtest.h>

namespace sluice::sql {
namespace {

std::vector<std::pair<std::string, std::string>> Columns(const DeclaredTable& t) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& c : t.columns) out.emplace_back(c.name, c.type);
  return out;
}

TEST(DeclaredTables, ListsSourcesSinksAndViewsInOrderWithTheirColumns) {
  auto tables = DeclaredTables(R"sql(
CREATE TABLE ticks WITH (connector = 'impulse', event_rate = '5');
CREATE TABLE orders (id BIGINT, amount DECIMAL(10, 2), placed_at TIMESTAMP);
INSERT INTO orders SELECT counter, 1.5, timestamp FROM ticks;
CREATE TABLE out WITH (connector = 'stdout', format = 'json');
CREATE VIEW big AS SELECT id FROM orders WHERE amount > 100;
INSERT INTO out SELECT id FROM big;
)sql");
  ASSERT_EQ(tables.size(), 4u);
  EXPECT_EQ(tables[0].name, "ticks");
  EXPECT_EQ(tables[0].kind, "source");
  EXPECT_EQ(tables[0].connector, "impulse");
  // The impulse connector's fixed columns (docs/connectors.md).
  EXPECT_EQ(Columns(tables[0]), (std::vector<std::pair<std::string, std::string>>{
                                    {"timestamp", "TIMESTAMP"},
                                    {"counter", "BIGINT UNSIGNED"},
                                    {"subtask_index", "BIGINT UNSIGNED"}}));
  EXPECT_EQ(tables[1].name, "orders");
  EXPECT_EQ(tables[1].kind, "memory");
  EXPECT_EQ(Columns(tables[1]),
            (std::vector<std::pair<std::string, std::string>>{
                {"id", "BIGINT"}, {"amount", "DECIMAL(10, 2)"}, {"placed_at", "TIMESTAMP"}}));
  EXPECT_EQ(tables[2].name, "out");
  EXPECT_EQ(tables[2].kind, "sink");
  EXPECT_EQ(tables[2].connector, "stdout");
  // Declared without columns: they come from the query that writes it.
  EXPECT_EQ(Columns(tables[2]),
            (std::vector<std::pair<std::string, std::string>>{{"id", "BIGINT"}}));
  EXPECT_EQ(tables[3].name, "big");
  EXPECT_EQ(tables[3].kind, "view");
}

TEST(DeclaredTables, KeepsWhatWasDeclaredBeforeAMistake) {
  auto tables = DeclaredTables(R"sql(
CREATE TABLE ticks WITH (connector = 'impulse', event_rate = '5');
SELECT countr FROM ticks;
CREATE TABLE later WITH (connector = 'impulse', event_rate = '5');
)sql");
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].name, "ticks");
}

TEST(DeclaredTables, NothingForTextThatDoesNotParse) {
  EXPECT_TRUE(DeclaredTables("CREATE TABLE (").empty());
  EXPECT_TRUE(DeclaredTables("").empty());
}

}  // namespace
}  // namespace sluice::sql
