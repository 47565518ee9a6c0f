#include <gatehouse/util/constant_time.hpp>

#include <gtest/gtest.h>

using gatehouse::util::constant_time_equal;

TEST(ConstantTimeEqual, EqualOnlyWhenEveryByteAndTheLengthMatch) {
    EXPECT_TRUE(constant_time_equal("s3cret", "s3cret"));
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_FALSE(constant_time_equal("s3creT", "s3cret"));
    EXPECT_FALSE(constant_time_equal("s3cre", "s3cret"));
    EXPECT_FALSE(constant_time_equal("s3cret!", "s3cret"));
    EXPECT_FALSE(constant_time_equal("", "s3cret"));
    EXPECT_FALSE(constant_time_equal(std::string_view("s3\0ret", 6), "s3cret"));
}
