// Durations and sizes as written in the configuration file.
#include <gatehouse/config/units.hpp>

#include <gtest/gtest.h>

#include <chrono>

using namespace gatehouse::config;
using namespace std::chrono_literals;

// Each duration unit scales the integer amount to milliseconds.
TEST(ParseDuration, AcceptsEveryUnit) {
    EXPECT_EQ(parse_duration("250ms"), 250ms);
    EXPECT_EQ(parse_duration("10s"), 10s);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("1h"), 1h);
    EXPECT_EQ(parse_duration("600s"), 600s);
}

// Zero may be written bare or with a unit.
TEST(ParseDuration, AcceptsZeroWithOrWithoutUnit) {
    EXPECT_EQ(parse_duration("0"), 0ms);
    EXPECT_EQ(parse_duration("0s"), 0ms);
}

// A bare non-zero number has no unit and is rejected rather than guessed.
TEST(ParseDuration, RejectsNumberWithoutUnit) {
    EXPECT_FALSE(parse_duration("10"));
}

// Spaces, signs, fractions, unknown units and empty text are malformed.
TEST(ParseDuration, RejectsMalformedText) {
    for (const char* text :
         {"", "s", "10 s", " 10s", "10s ", "-1s", "+1s", "1.5s", "10sec", "10S", "1d", "ms10", "1h30m"})
        EXPECT_FALSE(parse_duration(text)) << text;
}

// An amount that overflows milliseconds is rejected, not wrapped.
TEST(ParseDuration, RejectsOverflow) {
    EXPECT_FALSE(parse_duration("9999999999999999h"));
    EXPECT_FALSE(parse_duration("99999999999999999999ms"));
}

// Plain numbers and "B" are bytes.
TEST(ParseSize, AcceptsBytes) {
    EXPECT_EQ(parse_size("0"), 0u);
    EXPECT_EQ(parse_size("512"), 512u);
    EXPECT_EQ(parse_size("512B"), 512u);
}

// KiB, MiB, GiB and TiB are powers of 1024.
TEST(ParseSize, BinaryUnitsAre1024Based) {
    EXPECT_EQ(parse_size("16KiB"), 16u * 1024);
    EXPECT_EQ(parse_size("1MiB"), 1024u * 1024);
    EXPECT_EQ(parse_size("1GiB"), 1024ull * 1024 * 1024);
    EXPECT_EQ(parse_size("2TiB"), 2ull * 1024 * 1024 * 1024 * 1024);
}

// k/K/KB, M/MB and G/GB are powers of 1000.
TEST(ParseSize, DecimalUnitsAre1000Based) {
    EXPECT_EQ(parse_size("3k"), 3000u);
    EXPECT_EQ(parse_size("3K"), 3000u);
    EXPECT_EQ(parse_size("3KB"), 3000u);
    EXPECT_EQ(parse_size("2M"), 2'000'000u);
    EXPECT_EQ(parse_size("2MB"), 2'000'000u);
    EXPECT_EQ(parse_size("1G"), 1'000'000'000u);
    EXPECT_EQ(parse_size("1GB"), 1'000'000'000u);
}

// Spaces, signs, fractions, wrong letter case and unknown units are malformed.
TEST(ParseSize, RejectsMalformedText) {
    for (const char* text : {"", "KiB", "16 KiB", "-1", "+1", "1.5MiB", "16kib", "16KIB", "16mb", "1PiB", "16KiBs"})
        EXPECT_FALSE(parse_size(text)) << text;
}

// A size that does not fit in 64 bits is rejected, not wrapped.
TEST(ParseSize, RejectsOverflow) {
    EXPECT_EQ(parse_size("18446744073709551615"), 18446744073709551615ull);
    EXPECT_FALSE(parse_size("18446744073709551616"));
    EXPECT_FALSE(parse_size("16777216TiB"));
    EXPECT_FALSE(parse_size("20000000000G"));
}
