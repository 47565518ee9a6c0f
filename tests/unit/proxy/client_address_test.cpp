// The client address behind trusted proxies: X-Forwarded-For lines as one list, entry forms, malformed chains.
#include <gatehouse/proxy/client_address.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

const std::vector<config::cidr> trusted_10{*config::parse_cidr("10.0.0.0/8"), *config::parse_cidr("fd00::/8")};
const std::vector<config::cidr> bypass_10{*config::parse_cidr("10.0.0.0/8")};

client_origin resolve(std::string_view peer, std::vector<std::string_view> lines,
                      const std::vector<config::cidr>& trusted = trusted_10) {
    return resolve_client(peer, lines, trusted);
}

}  // namespace

// Entry forms: bare IPv4/IPv6, ip:port, [v6], [v6]:port; anything else is not an address.
TEST(ClientAddress, ReadsEntryForms) {
    EXPECT_EQ(forwarded_entry_address("203.0.113.9"), "203.0.113.9");
    EXPECT_EQ(forwarded_entry_address("203.0.113.9:5555"), "203.0.113.9");
    EXPECT_EQ(forwarded_entry_address("2001:db8::1"), "2001:db8::1");
    EXPECT_EQ(forwarded_entry_address("[2001:db8::1]"), "2001:db8::1");
    EXPECT_EQ(forwarded_entry_address("[2001:db8::1]:443"), "2001:db8::1");
    EXPECT_EQ(forwarded_entry_address("::ffff:203.0.113.9"), "::ffff:203.0.113.9");
    for (const char* bad : {"unknown", "", "garbage", "203.0.113.9:", "203.0.113.9:99999", "203.0.113.9:80x",
                            "203.0.113", "[203.0.113.9]", "[2001:db8::1", "[2001:db8::1]x", "[2001:db8::1]:",
                            "2001:db8::1:443]", "_hidden", "203.0.113.9 1.2.3.4", "fe80::1%eth0", "1.2.3.4:5:6"})
        EXPECT_FALSE(forwarded_entry_address(bad).has_value()) << bad;
}

// An untrusted peer is the client, whatever it sent.
TEST(ClientAddress, UntrustedPeerIgnoresForwardedFor) {
    const auto o = resolve("198.51.100.7", {"10.1.1.1", "203.0.113.9"});
    EXPECT_EQ(o.kind, client_kind::peer);
    EXPECT_EQ(o.address, "198.51.100.7");
    EXPECT_FALSE(o.peer_trusted);
    EXPECT_TRUE(o.hops.empty());
    EXPECT_FALSE(client_in(o, "198.51.100.7", bypass_10));
    // A trusted-looking chain from an untrusted peer does not help either.
    EXPECT_EQ(resolve("198.51.100.7", {"10.1.1.1"}).address, "198.51.100.7");
    EXPECT_EQ(resolve_client("10.0.0.1", std::vector<std::string_view>{"203.0.113.9"}, {}).address, "10.0.0.1");
}

// Two lines form one list, read from the right: the proxy's appended line holds the client, not the first line.
TEST(ClientAddress, JoinsEveryLineInOrder) {
    const auto o = resolve("10.0.0.1", {"10.1.1.1", "203.0.113.9"});
    EXPECT_EQ(o.kind, client_kind::forwarded);
    EXPECT_EQ(o.address, "203.0.113.9");
    EXPECT_EQ(o.hops, "10.0.0.1");
    EXPECT_FALSE(client_in(o, "10.0.0.1", bypass_10));
    ASSERT_TRUE(o.ip.has_value());
    EXPECT_EQ(*o.ip, *config::parse_ip("203.0.113.9"));

    // Hops right of the client are kept (they vouched for it); the client's own left-most entries are not.
    const auto chain = resolve("10.0.0.1", {"6.6.6.6, 198.51.100.1", "10.0.0.3:80, 10.0.0.2"});
    EXPECT_EQ(chain.address, "198.51.100.1");
    EXPECT_EQ(chain.hops, "10.0.0.3, 10.0.0.2, 10.0.0.1");
}

// Ports and brackets are dropped from the client and the hops.
TEST(ClientAddress, UnderstandsPortsAndIpv6) {
    auto o = resolve("10.0.0.1", {"203.0.113.9:5555"});
    EXPECT_EQ(o.address, "203.0.113.9");
    o = resolve("10.0.0.1", {"[2001:db8::7]:443, [fd00::2]:80"});
    EXPECT_EQ(o.address, "2001:db8::7");
    EXPECT_EQ(o.hops, "fd00::2, 10.0.0.1");
    o = resolve("fd00::1", {"2001:db8::9"});
    EXPECT_EQ(o.address, "2001:db8::9");
    EXPECT_EQ(o.hops, "fd00::1");
}

// An entry that is not an address, met before the client, makes the client unknown: never in a bypass list, and
// forwarded and hashed as its peer. Garbage left of the client does not matter; empty elements are skipped.
TEST(ClientAddress, MalformedChainMeansUnknown) {
    for (const std::vector<std::string_view>& lines :
         {std::vector<std::string_view>{"unknown"}, {"203.0.113.9, unknown"}, {"10.0.0.9", "garbage"},
          {"203.0.113.9", "10.0.0.2, _proxy"}, {"203.0.113.9:99999"}}) {
        const auto o = resolve("10.0.0.1", lines);
        EXPECT_EQ(o.kind, client_kind::unknown) << lines.back();
        EXPECT_FALSE(o.known());
        EXPECT_FALSE(o.ip.has_value());
        EXPECT_TRUE(o.peer_trusted);
        EXPECT_FALSE(client_in(o, "10.0.0.1", bypass_10)) << "the peer is in the bypass list, the client is not known";
        EXPECT_EQ(forwarded_client(o, "10.0.0.1"), "10.0.0.1");
        EXPECT_EQ(logged_client(o), "unknown");
    }
    EXPECT_EQ(resolve("10.0.0.1", {"unknown, 203.0.113.9"}).address, "203.0.113.9");
    const auto skipped = resolve("10.0.0.1", {" , 203.0.113.9,, ", ""});
    EXPECT_EQ(skipped.kind, client_kind::forwarded);
    EXPECT_EQ(skipped.address, "203.0.113.9");
}

// When every entry is a trusted proxy, the left-most one is the client; with no entry, the trusted peer is.
TEST(ClientAddress, AllTrustedChain) {
    const auto o = resolve("10.0.0.1", {"10.0.0.5, 10.0.0.4", "10.0.0.3"});
    EXPECT_EQ(o.kind, client_kind::forwarded);
    EXPECT_EQ(o.address, "10.0.0.5");
    EXPECT_EQ(o.hops, "10.0.0.4, 10.0.0.3, 10.0.0.1");
    EXPECT_TRUE(client_in(o, "10.0.0.1", bypass_10));

    const auto none = resolve("10.0.0.1", {});
    EXPECT_EQ(none.kind, client_kind::peer);
    EXPECT_TRUE(none.peer_trusted);
    EXPECT_EQ(none.address, "10.0.0.1");
    EXPECT_TRUE(none.hops.empty());
    EXPECT_TRUE(client_in(none, "10.0.0.1", bypass_10));
    EXPECT_EQ(logged_client(none), "10.0.0.1");
}

// A bypass network matches the resolved client only.
TEST(ClientAddress, ClientInNetworks) {
    const auto o = resolve("10.0.0.1", {"10.200.0.1, 203.0.113.9"});
    EXPECT_FALSE(client_in(o, "10.0.0.1", bypass_10));
    EXPECT_TRUE(client_in(o, "10.0.0.1", std::vector{*config::parse_cidr("203.0.113.0/24")}));
    EXPECT_FALSE(client_in(o, "10.0.0.1", {}));
}
