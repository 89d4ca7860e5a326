#include <gtest/gtest.h>

#include "common/status.h"

namespace sluice {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::User("{} is odd", x);
  return x / 2;
}

Status UseHalf(int x, int* out) {
  SLUICE_ASSIGN_OR_RETURN(*out, Half(x));
  return Status::Ok();
}

TEST(Status, CarriesKindAndMessage) {
  Status st = Status::User("column \"{}\" does not exist", "x");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::kUser);
  EXPECT_EQ(st.message(), "column \"x\" does not exist");
  EXPECT_EQ(st.ToString(), "error: column \"x\" does not exist");
  EXPECT_EQ(Status::NotSupported("joins").ToString(), "not supported yet: joins");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(Status, WithContextPrefixes) {
  Status st = Status::Io("disk full").WithContext("sink out");
  EXPECT_EQ(st.message(), "sink out: disk full");
  EXPECT_EQ(st.kind(), ErrorKind::kIo);
}

TEST(Result, PropagatesThroughMacros) {
  int v = 0;
  EXPECT_TRUE(UseHalf(8, &v).ok());
  EXPECT_EQ(v, 4);
  Status st = UseHalf(3, &v);
  EXPECT_EQ(st.message(), "3 is odd");
}

}  // namespace
}  // namespace sluice
