// IP addresses and CIDR prefixes: parsing, masking and membership.
#include <gatehouse/config/cidr.hpp>

#include <gtest/gtest.h>

using namespace gatehouse::config;

namespace {

ip_bytes ip(const char* text) {
    auto parsed = parse_ip(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(ip_bytes{});
}

}  // namespace

// IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d).
TEST(ParseIp, StoresIpv4AsMapped) {
    const ip_bytes expected{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
    EXPECT_EQ(parse_ip("10.1.2.3"), expected);
    EXPECT_EQ(parse_ip("::ffff:10.1.2.3"), expected);
}

// IPv6 addresses are stored as their 16 bytes.
TEST(ParseIp, ParsesIpv6) {
    const ip_bytes loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    EXPECT_EQ(parse_ip("::1"), loopback);
}

// Host names, ports, brackets and partial addresses are not IP addresses.
TEST(ParseIp, RejectsNonAddresses) {
    for (const char* text : {"", "localhost", "1.2.3", "1.2.3.4:80", "[::1]", "256.0.0.1", " 1.2.3.4", "::1/128"})
        EXPECT_FALSE(parse_ip(text)) << text;
}

// An IPv4 prefix length counts over the 128-bit mapped form and the text is kept as written.
TEST(ParseCidr, Ipv4PrefixIsOffsetBy96) {
    auto c = parse_cidr("10.0.0.0/8");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->prefix_length, 104u);
    EXPECT_EQ(c->network, ip("10.0.0.0"));
    EXPECT_EQ(c->text, "10.0.0.0/8");
}

// Host bits are masked off: "10.1.2.3/8" is the network 10.0.0.0/8.
TEST(ParseCidr, MasksHostBits) {
    auto v4 = parse_cidr("10.1.2.3/8");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->network, ip("10.0.0.0"));
    EXPECT_EQ(v4->text, "10.1.2.3/8");
    auto v6 = parse_cidr("fd12:3456::1/12");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->network, ip("fd10::"));
    EXPECT_EQ(v6->prefix_length, 12u);
}

// A bare address is a single-host network (/32 or /128).
TEST(ParseCidr, BareAddressIsSingleHost) {
    EXPECT_EQ(parse_cidr("192.0.2.7")->prefix_length, 128u);
    EXPECT_EQ(parse_cidr("::1")->prefix_length, 128u);
    EXPECT_TRUE(parse_cidr("192.0.2.7")->contains(ip("192.0.2.7")));
    EXPECT_FALSE(parse_cidr("192.0.2.7")->contains(ip("192.0.2.8")));
}

// Prefixes longer than the family allows, and malformed prefixes, are rejected.
TEST(ParseCidr, RejectsMalformedPrefixes) {
    for (const char* text : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
                             "10.0.0.0/0008", "/8", "host/8", "10.0.0.0/8/8", ""})
        EXPECT_FALSE(parse_cidr(text)) << text;
    EXPECT_TRUE(parse_cidr("10.0.0.0/32"));
    EXPECT_TRUE(parse_cidr("::/128"));
}

// An IPv4 network contains exactly the addresses sharing its prefix.
TEST(CidrContains, Ipv4Membership) {
    auto c = *parse_cidr("192.168.0.0/16");
    EXPECT_TRUE(c.contains(ip("192.168.0.1")));
    EXPECT_TRUE(c.contains(ip("192.168.255.255")));
    EXPECT_FALSE(c.contains(ip("192.169.0.1")));
    EXPECT_FALSE(c.contains(ip("::1")));
    auto odd = *parse_cidr("10.0.0.0/23");
    EXPECT_TRUE(odd.contains(ip("10.0.1.255")));
    EXPECT_FALSE(odd.contains(ip("10.0.2.0")));
}

// An IPv6 network contains exactly the addresses sharing its prefix.
TEST(CidrContains, Ipv6Membership) {
    auto c = *parse_cidr("fd00::/8");
    EXPECT_TRUE(c.contains(ip("fd12::1")));
    EXPECT_FALSE(c.contains(ip("fe80::1")));
    EXPECT_FALSE(c.contains(ip("10.0.0.1")));
}

// IPv4 /0 matches every IPv4 address but no native IPv6 address; ::/0 matches everything.
TEST(CidrContains, ZeroPrefixes) {
    auto any_v4 = *parse_cidr("0.0.0.0/0");
    EXPECT_TRUE(any_v4.contains(ip("203.0.113.9")));
    EXPECT_FALSE(any_v4.contains(ip("2001:db8::1")));
    auto any = *parse_cidr("::/0");
    EXPECT_TRUE(any.contains(ip("203.0.113.9")));
    EXPECT_TRUE(any.contains(ip("2001:db8::1")));
}
