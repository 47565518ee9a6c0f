// Loading and validating configuration files: values, defaults and every kind of reported problem.
#include <gatehouse/config/admin_token.hpp>
#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

using namespace gatehouse::config;
using namespace std::chrono_literals;

namespace {

constexpr const char* one_node = R"([[upstream.node]]
name = "node1"
address = "127.0.0.1:13001"
)";

/// The problems parse_config reports for `text` (a test failure when it reports none).
std::vector<config_problem> problems_of(const std::string& text) {
    try {
        parse_config(text, "test.toml");
    } catch (const config_error& e) {
        return e.problems();
    }
    ADD_FAILURE() << "expected a config_error for:\n" << text;
    return {};
}

/// The only problem reported for `text`.
config_problem only_problem(const std::string& text) {
    auto problems = problems_of(text);
    EXPECT_EQ(problems.size(), 1u) << (problems.empty() ? "" : config_error(problems).what());
    return problems.empty() ? config_problem{} : problems.front();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// With only a node, every other setting takes its documented default.
TEST(LoadConfig, DefaultsWhenSectionsAbsent) {
    const config c = parse_config(one_node, "test.toml");
    EXPECT_EQ(c.source, "test.toml");
    ASSERT_EQ(c.proxy.listen.size(), 1u);
    EXPECT_EQ(c.proxy.listen[0].text, "0.0.0.0:8080");
    EXPECT_EQ(c.proxy.listen[0].ip, "0.0.0.0");
    EXPECT_EQ(c.proxy.listen[0].port, 8080);
    EXPECT_FALSE(c.proxy.listen[0].is_v6);
    EXPECT_EQ(c.proxy.workers, 0u);
    EXPECT_TRUE(c.proxy.trusted_proxies.empty());
    EXPECT_EQ(c.upstream.balance, balance_policy::round_robin);
    EXPECT_EQ(c.upstream.tries, 2u);
    EXPECT_FALSE(c.upstream.keepalive.has_value()) << "no cap by default: the pool is sized by demand";
    ASSERT_EQ(c.upstream.nodes.size(), 1u);
    EXPECT_EQ(c.upstream.nodes[0].name, "node1");
    EXPECT_EQ(c.upstream.nodes[0].address.ip, "127.0.0.1");
    EXPECT_EQ(c.upstream.nodes[0].address.port, 13001);
    EXPECT_EQ(c.upstream.nodes[0].weight, 1u);
    EXPECT_EQ(c.timeouts.client_header, 10s);
    EXPECT_EQ(c.timeouts.client_idle, 60s);
    EXPECT_EQ(c.timeouts.upstream_connect, 3s);
    EXPECT_EQ(c.timeouts.upstream_response, 600s);
    EXPECT_EQ(c.timeouts.upstream_idle, 3s);
    EXPECT_EQ(c.timeouts.shutdown_drain, 30s);
    EXPECT_EQ(c.limits.max_request_head, 16u * 1024);
    EXPECT_EQ(c.limits.max_request_body, 1024ull * 1024 * 1024);
}

// Every key of every table is read into the config.
TEST(LoadConfig, ParsesEveryKey) {
    const config c = parse_config(R"(
[proxy]
listen = ["127.0.0.1:9000", "[::1]:9001"]
workers = 3
trusted_proxies = ["10.0.0.0/8", "fd00::/8"]

[upstream]
balance = "round_robin"
tries = 4
keepalive = 100

[[upstream.node]]
name = "a.b_c-1"
address = "127.0.0.2:13001"
weight = 5

[[upstream.node]]
name = "second"
address = "[::1]:13002"

[timeouts]
client_header = "5s"
client_idle = "2m"
upstream_connect = "500ms"
upstream_response = "1h"
upstream_idle = "0"
shutdown_drain = "45s"

[limits]
max_request_head = "32KiB"
max_request_body = "10MB"
)");
    ASSERT_EQ(c.proxy.listen.size(), 2u);
    EXPECT_EQ(c.proxy.listen[0].ip, "127.0.0.1");
    EXPECT_EQ(c.proxy.listen[0].port, 9000);
    EXPECT_EQ(c.proxy.listen[1].text, "[::1]:9001");
    EXPECT_EQ(c.proxy.listen[1].ip, "::1");
    EXPECT_TRUE(c.proxy.listen[1].is_v6);
    EXPECT_EQ(c.proxy.workers, 3u);
    ASSERT_EQ(c.proxy.trusted_proxies.size(), 2u);
    EXPECT_EQ(c.proxy.trusted_proxies[1].text, "fd00::/8");
    EXPECT_EQ(c.upstream.tries, 4u);
    EXPECT_EQ(c.upstream.keepalive, 100u);
    ASSERT_EQ(c.upstream.nodes.size(), 2u);
    EXPECT_EQ(c.upstream.nodes[0].name, "a.b_c-1");
    EXPECT_EQ(c.upstream.nodes[0].address.text, "127.0.0.2:13001");
    EXPECT_EQ(c.upstream.nodes[0].weight, 5u);
    EXPECT_EQ(c.upstream.nodes[1].address.ip, "::1");
    EXPECT_EQ(c.upstream.nodes[1].weight, 1u);
    EXPECT_EQ(c.timeouts.client_header, 5s);
    EXPECT_EQ(c.timeouts.client_idle, 2min);
    EXPECT_EQ(c.timeouts.upstream_connect, 500ms);
    EXPECT_EQ(c.timeouts.upstream_response, 1h);
    EXPECT_EQ(c.timeouts.upstream_idle, 0ms);
    EXPECT_EQ(c.timeouts.shutdown_drain, 45s);
    EXPECT_EQ(c.limits.max_request_head, 32u * 1024);
    EXPECT_EQ(c.limits.max_request_body, 10'000'000u);
}

// An IPv6 listen address is written in brackets and stored without them.
TEST(LoadConfig, ParsesBracketedIpv6Listen) {
    const config c = parse_config(std::string("[proxy]\nlisten = [\"[::]:8080\"]\n") + one_node);
    ASSERT_EQ(c.proxy.listen.size(), 1u);
    EXPECT_EQ(c.proxy.listen[0].text, "[::]:8080");
    EXPECT_EQ(c.proxy.listen[0].ip, "::");
    EXPECT_EQ(c.proxy.listen[0].port, 8080);
    EXPECT_TRUE(c.proxy.listen[0].is_v6);
}

// A host name is resolved when the file is loaded, preferring IPv4.
TEST(LoadConfig, ResolvesHostNames) {
    const config c = parse_config("[[upstream.node]]\nname = \"n\"\naddress = \"localhost:13001\"\n");
    const auto& a = c.upstream.nodes.at(0).address;
    EXPECT_EQ(a.text, "localhost:13001");
    EXPECT_EQ(a.ip, "127.0.0.1");
    EXPECT_EQ(a.port, 13001);
    EXPECT_FALSE(a.is_v6);
}

// A host name that does not resolve is a problem quoting the resolver's reason.
TEST(LoadConfig, UnresolvableHostIsAProblem) {
    auto p = only_problem("[[upstream.node]]\nname = \"n\"\naddress = \"no-such-host.invalid:80\"\n");
    EXPECT_EQ(p.key, "upstream.node[0].address");
    EXPECT_EQ(p.line, 3u);
    EXPECT_TRUE(contains(p.message, "cannot resolve host 'no-such-host.invalid': ")) << p.message;
}

// trusted_proxies become CIDRs that match IPv4 and IPv6 peers.
TEST(LoadConfig, TrustedProxiesAreCidrs) {
    const config c =
        parse_config(std::string("[proxy]\ntrusted_proxies = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\"]\n") +
                     one_node);
    const auto& t = c.proxy.trusted_proxies;
    ASSERT_EQ(t.size(), 3u);
    EXPECT_TRUE(t[0].contains(*parse_ip("10.200.3.4")));
    EXPECT_FALSE(t[0].contains(*parse_ip("11.0.0.1")));
    EXPECT_TRUE(t[1].contains(*parse_ip("2001:db8:1::5")));
    EXPECT_FALSE(t[1].contains(*parse_ip("2001:db9::5")));
    EXPECT_TRUE(t[2].contains(*parse_ip("192.0.2.7")));
    EXPECT_FALSE(t[2].contains(*parse_ip("192.0.2.8")));
}

// proxy.trust_forwarded_host_proto is off unless set; it must be a boolean.
TEST(LoadConfig, TrustForwardedHostProto) {
    EXPECT_FALSE(parse_config(one_node, "test.toml").proxy.trust_forwarded_host_proto);
    EXPECT_TRUE(parse_config(std::string("[proxy]\ntrust_forwarded_host_proto = true\n") + one_node, "test.toml")
                    .proxy.trust_forwarded_host_proto);
    auto p = only_problem(std::string("[proxy]\ntrust_forwarded_host_proto = \"yes\"\n") + one_node);
    EXPECT_EQ(p.key, "proxy.trust_forwarded_host_proto");
    EXPECT_EQ(p.line, 2u);
}

// A malformed CIDR names its array element.
TEST(LoadConfig, BadCidrIsAProblem) {
    auto p = only_problem(std::string("[proxy]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n") + one_node);
    EXPECT_EQ(p.key, "proxy.trusted_proxies[1]");
    EXPECT_EQ(p.line, 2u);
    EXPECT_TRUE(contains(p.message, "invalid CIDR '10.0.0.0/33'")) << p.message;
}

// A bad node address is reported at its own line with the node's index in the key.
TEST(LoadConfig, BadAddressNamesKeyAndLine) {
    auto p = only_problem(R"([upstream]
tries = 2

[[upstream.node]]
name = "node1"
weight = 1
address = "127.0.0.1"
)");
    EXPECT_EQ(p.file, "test.toml");
    EXPECT_EQ(p.line, 7u);
    EXPECT_EQ(p.column, 11u);
    EXPECT_EQ(p.key, "upstream.node[0].address");
    EXPECT_TRUE(contains(p.message, "missing port")) << p.message;
}

// Ports outside 1-65535, missing hosts and unbracketed IPv6 addresses are rejected.
TEST(LoadConfig, MalformedAddressesAreProblems) {
    for (const char* address : {"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http", "127.0.0.1:-1", ":80", "::1:80",
                                "[::1]", "[::1]80", "[::1:80", "[127.0.0.1]:80", "127.0.0.1:"}) {
        auto p = only_problem(std::string("[[upstream.node]]\nname = \"n\"\naddress = \"") + address + "\"\n");
        EXPECT_EQ(p.key, "upstream.node[0].address") << address;
        EXPECT_EQ(p.line, 3u) << address;
    }
}

// A listen entry of the wrong type names its array index.
TEST(LoadConfig, ListenEntriesMustBeStrings) {
    auto p = only_problem(std::string("[proxy]\nlisten = [\"0.0.0.0:80\", 8080]\n") + one_node);
    EXPECT_EQ(p.key, "proxy.listen[1]");
    EXPECT_EQ(p.message, "expected a string, got integer");
}

// An empty listen list would accept no clients.
TEST(LoadConfig, EmptyListenIsAProblem) {
    auto p = only_problem(std::string("[proxy]\nlisten = []\n") + one_node);
    EXPECT_EQ(p.key, "proxy.listen");
    EXPECT_EQ(p.line, 2u);
}

// A malformed duration is reported with its key and line.
TEST(LoadConfig, BadDurationIsAProblem) {
    auto p = only_problem(std::string(one_node) + "\n[timeouts]\nclient_idle = \"10 s\"\n");
    EXPECT_EQ(p.key, "timeouts.client_idle");
    EXPECT_EQ(p.line, 6u);
    EXPECT_TRUE(contains(p.message, "invalid duration '10 s'")) << p.message;
}

// Timeouts that bound a wait must be positive; upstream_idle and shutdown_drain may be 0.
TEST(LoadConfig, ZeroIsRejectedForWaitTimeouts) {
    for (const char* key : {"client_header", "client_idle", "upstream_connect", "upstream_response"}) {
        auto p = only_problem(std::string(one_node) + "[timeouts]\n" + key + " = \"0s\"\n");
        EXPECT_EQ(p.key, std::string("timeouts.") + key);
        EXPECT_EQ(p.message, "must be greater than 0");
    }
    const config c =
        parse_config(std::string(one_node) + "[timeouts]\nupstream_idle = \"0\"\nshutdown_drain = \"0\"\n");
    EXPECT_EQ(c.timeouts.upstream_idle, 0ms);
    EXPECT_EQ(c.timeouts.shutdown_drain, 0ms);
}

// A malformed size is reported with its key and line.
TEST(LoadConfig, BadSizeIsAProblem) {
    auto p = only_problem(std::string(one_node) + "[limits]\nmax_request_body = \"1 GiB\"\n");
    EXPECT_EQ(p.key, "limits.max_request_body");
    EXPECT_EQ(p.line, 5u);
    EXPECT_TRUE(contains(p.message, "invalid size '1 GiB'")) << p.message;
}

// max_request_head must lie within 1KiB-64KiB inclusive.
TEST(LoadConfig, MaxRequestHeadIsBounded) {
    for (const char* size : {"1023", "65KiB", "0"}) {
        auto p = only_problem(std::string(one_node) + "[limits]\nmax_request_head = \"" + size + "\"\n");
        EXPECT_EQ(p.key, "limits.max_request_head") << size;
        EXPECT_TRUE(contains(p.message, "between 1KiB and 64KiB")) << p.message;
    }
    EXPECT_EQ(parse_config(std::string(one_node) + "[limits]\nmax_request_head = \"1KiB\"\n").limits.max_request_head,
              1024u);
    EXPECT_EQ(parse_config(std::string(one_node) + "[limits]\nmax_request_head = \"64KiB\"\n").limits.max_request_head,
              65536u);
}

// max_request_body = "0" means unlimited and is kept as 0.
TEST(LoadConfig, ZeroBodyLimitMeansUnlimited) {
    const config c = parse_config(std::string(one_node) + "[limits]\nmax_request_body = \"0\"\n");
    EXPECT_EQ(c.limits.max_request_body, 0u);
}

// Integers outside their allowed range are problems that state the range.
TEST(LoadConfig, OutOfRangeIntegersAreProblems) {
    struct tcase {
        const char* text;
        const char* key;
        const char* message;
    };
    const tcase cases[] = {
        {"[proxy]\nworkers = 257\n", "proxy.workers", "must be between 0 and 256, got 257"},
        {"[proxy]\nworkers = -1\n", "proxy.workers", "must be between 0 and 256, got -1"},
        {"[upstream]\ntries = 0\n", "upstream.tries", "must be between 1 and 16, got 0"},
        {"[upstream]\ntries = 17\n", "upstream.tries", "must be between 1 and 16, got 17"},
        {"[upstream]\nkeepalive = 4097\n", "upstream.keepalive", "must be between 0 and 4096, got 4097"},
    };
    for (const auto& t : cases) {
        auto p = only_problem(std::string(t.text) + one_node);
        EXPECT_EQ(p.key, t.key);
        EXPECT_EQ(p.line, 2u);
        EXPECT_EQ(p.message, t.message);
    }
    for (const char* weight : {"0", "1001"}) {
        auto p = only_problem(std::string(one_node) + "weight = " + weight + "\n");
        EXPECT_EQ(p.key, "upstream.node[0].weight");
        EXPECT_EQ(p.line, 4u);
    }
}

// A value of the wrong TOML type says what was expected and what was found.
TEST(LoadConfig, WrongTypeIsAProblem) {
    auto p = only_problem(std::string("[proxy]\nworkers = \"4\"\n") + one_node);
    EXPECT_EQ(p.key, "proxy.workers");
    EXPECT_EQ(p.message, "expected an integer, got string");
    p = only_problem(std::string(one_node) + "[timeouts]\nclient_header = 10\n");
    EXPECT_EQ(p.key, "timeouts.client_header");
    EXPECT_EQ(p.message, "expected a string, got integer");
    p = only_problem(std::string("proxy = 1\n") + one_node);
    EXPECT_EQ(p.key, "proxy");
    EXPECT_EQ(p.message, "expected a table, got integer");
}

// An unknown key is reported at its line and the message lists the keys allowed there.
TEST(LoadConfig, UnknownKeyIsAProblem) {
    auto p = only_problem(std::string("[proxy]\nworkers = 1\nfoo = 2\n") + one_node);
    EXPECT_EQ(p.key, "proxy.foo");
    EXPECT_EQ(p.line, 3u);
    EXPECT_EQ(p.column, 1u);
    EXPECT_TRUE(contains(p.message, "unknown key 'foo'")) << p.message;
    EXPECT_TRUE(contains(p.message, "listen, workers, trusted_proxies")) << p.message;
}

// An unknown key inside a node names the node's index.
TEST(LoadConfig, UnknownNodeKeyNamesNodeIndex) {
    auto p = only_problem(std::string(one_node) +
                          "\n[[upstream.node]]\nname = \"n2\"\naddress = \"127.0.0.1:2\"\nport = 3\n");
    EXPECT_EQ(p.key, "upstream.node[1].port");
    EXPECT_EQ(p.line, 8u);
    EXPECT_TRUE(contains(p.message, "unknown key 'port'")) << p.message;
}

// An unknown top-level table is reported with the tables allowed.
TEST(LoadConfig, UnknownTableIsAProblem) {
    auto p = only_problem(std::string(one_node) + "[upstreams]\ntries = 2\n");
    EXPECT_EQ(p.key, "upstreams");
    EXPECT_EQ(p.line, 4u);
    EXPECT_TRUE(contains(p.message, "unknown table 'upstreams'")) << p.message;
    EXPECT_TRUE(contains(p.message, "proxy, upstream, timeouts, limits")) << p.message;
}

// A balance policy other than round_robin is rejected and the allowed values are listed.
TEST(LoadConfig, UnknownBalancePolicyIsAProblem) {
    auto p = only_problem(std::string("[upstream]\nbalance = \"least_conn\"\n") + one_node);
    EXPECT_EQ(p.key, "upstream.balance");
    EXPECT_EQ(p.line, 2u);
    EXPECT_TRUE(contains(p.message, "'least_conn'")) << p.message;
    EXPECT_TRUE(contains(p.message, "round_robin")) << p.message;
}

// Two nodes with one name: the second is reported, pointing at the first.
TEST(LoadConfig, DuplicateNodeNameIsAProblem) {
    auto p = only_problem(std::string(one_node) +
                          "\n[[upstream.node]]\nname = \"node1\"\naddress = \"127.0.0.1:13002\"\n");
    EXPECT_EQ(p.key, "upstream.node[1].name");
    EXPECT_EQ(p.line, 6u);
    EXPECT_EQ(p.message, "duplicate node name 'node1' (first defined at line 2)");
}

// Node names are non-empty and limited to A-Za-z0-9._-
TEST(LoadConfig, NodeNameCharactersAreRestricted) {
    auto p = only_problem("[[upstream.node]]\nname = \"node 1\"\naddress = \"127.0.0.1:1\"\n");
    EXPECT_EQ(p.key, "upstream.node[0].name");
    EXPECT_EQ(p.line, 2u);
    p = only_problem("[[upstream.node]]\nname = \"\"\naddress = \"127.0.0.1:1\"\n");
    EXPECT_EQ(p.key, "upstream.node[0].name");
    EXPECT_EQ(p.message, "must not be empty");
}

// A node without name or address reports each missing key at the node's header line.
TEST(LoadConfig, NodeNameAndAddressAreRequired) {
    auto problems = problems_of(std::string(one_node) + "\n[[upstream.node]]\nweight = 2\n");
    ASSERT_EQ(problems.size(), 2u);
    EXPECT_EQ(problems[0].key, "upstream.node[1].name");
    EXPECT_EQ(problems[1].key, "upstream.node[1].address");
    for (const auto& p : problems) {
        EXPECT_EQ(p.line, 5u);
        EXPECT_EQ(p.message, "is required");
    }
}

// With no [[upstream.node]] there is nothing to proxy to: an error wherever the nodes are missing.
TEST(LoadConfig, AtLeastOneNodeIsRequired) {
    auto p = only_problem("");
    EXPECT_EQ(p.key, "upstream.node");
    EXPECT_EQ(p.line, 0u);
    EXPECT_EQ(p.message, "at least one [[upstream.node]] or [[upstream.dns]] is required");
    p = only_problem("[proxy]\nworkers = 1\n\n[upstream]\ntries = 2\n");
    EXPECT_EQ(p.line, 4u);
    EXPECT_EQ(p.message, "at least one [[upstream.node]] or [[upstream.dns]] is required");
    p = only_problem("[upstream]\nnode = []\n");
    EXPECT_EQ(p.line, 2u);
    EXPECT_EQ(p.message, "at least one [[upstream.node]] or [[upstream.dns]] is required");
}

// [upstream.node] (a single table) is a type problem, not a missing node list.
TEST(LoadConfig, NodesMustBeAnArrayOfTables) {
    auto p = only_problem("[upstream.node]\nname = \"n\"\naddress = \"127.0.0.1:1\"\n");
    EXPECT_EQ(p.key, "upstream.node");
    EXPECT_TRUE(contains(p.message, "expected an array of tables ([[upstream.node]]), got table")) << p.message;
    p = only_problem("[upstream]\nnode = [1]\n");
    EXPECT_EQ(p.key, "upstream.node[0]");
    EXPECT_EQ(p.message, "expected a table, got integer");
}

// Every problem in a file is reported at once, in file order, and what() lists them all.
TEST(LoadConfig, ReportsAllProblemsTogether) {
    const std::string text = R"([proxy]
workers = 1000
[[upstream.node]]
name = "a"
address = "127.0.0.1"
[timeouts]
client_idle = "forever"
)";
    auto problems = problems_of(text);
    ASSERT_EQ(problems.size(), 3u);
    EXPECT_EQ(problems[0].key, "proxy.workers");
    EXPECT_EQ(problems[0].line, 2u);
    EXPECT_EQ(problems[1].key, "upstream.node[0].address");
    EXPECT_EQ(problems[1].line, 5u);
    EXPECT_EQ(problems[2].key, "timeouts.client_idle");
    EXPECT_EQ(problems[2].line, 7u);
    try {
        parse_config(text, "test.toml");
    } catch (const config_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  problems[0].to_string() + "\n" + problems[1].to_string() + "\n" + problems[2].to_string());
    }
}

// A TOML syntax error becomes a single problem at the parser's line and column.
TEST(LoadConfig, SyntaxErrorHasLine) {
    auto p = only_problem("[proxy]\nworkers = 1\nlisten = \n");
    EXPECT_EQ(p.file, "test.toml");
    EXPECT_EQ(p.line, 3u);
    EXPECT_GT(p.column, 0u);
    EXPECT_EQ(p.key, "");
    EXPECT_FALSE(p.message.empty());
}

// Problems print as "file:line:column: key: message", dropping what is unknown.
TEST(ConfigProblem, ToStringOmitsUnknownParts) {
    EXPECT_EQ((config_problem{"a.toml", 7, 11, "upstream.node[0].address", "bad"}).to_string(),
              "a.toml:7:11: upstream.node[0].address: bad");
    EXPECT_EQ((config_problem{"a.toml", 7, 0, "k", "bad"}).to_string(), "a.toml:7: k: bad");
    EXPECT_EQ((config_problem{"a.toml", 0, 0, "k", "bad"}).to_string(), "a.toml: k: bad");
    EXPECT_EQ((config_problem{"a.toml", 0, 0, "", "bad"}).to_string(), "a.toml: bad");
}

// Text parsed without an origin is named "<inline>" in problems.
TEST(LoadConfig, InlineTextIsNamedInline) {
    try {
        parse_config("");
        FAIL() << "expected a config_error";
    } catch (const config_error& e) {
        EXPECT_EQ(e.problems().at(0).file, "<inline>");
    }
}

// A file that cannot be read is a config_error carrying the system's reason.
TEST(LoadConfig, UnreadableFileIsAProblem) {
    const std::string path = "/nonexistent-gatehouse-dir/gatehouse.toml";
    try {
        load_config(path);
        FAIL() << "expected a config_error";
    } catch (const config_error& e) {
        ASSERT_EQ(e.problems().size(), 1u);
        EXPECT_EQ(e.problems()[0].file, path);
        EXPECT_EQ(e.problems()[0].line, 0u);
        EXPECT_EQ(e.problems()[0].message, "cannot read file: No such file or directory");
        EXPECT_EQ(std::string(e.what()), path + ": cannot read file: No such file or directory");
    }
}

// load_config reads the file and names it in the config and in problems.
TEST(LoadConfig, LoadsFileByPath) {
    const auto path = (std::filesystem::temp_directory_path() /
                       ("gatehouse_load_test_" + std::to_string(::getpid()) + ".toml"))
                          .string();
    {
        std::ofstream out(path);
        out << one_node << "[proxy]\nworkers = 999\n";
    }
    try {
        load_config(path);
        ADD_FAILURE() << "expected a config_error";
    } catch (const config_error& e) {
        EXPECT_EQ(e.problems().at(0).file, path);
        EXPECT_EQ(e.problems().at(0).line, 5u);
    }
    {
        std::ofstream out(path);
        out << one_node;
    }
    EXPECT_EQ(load_config(path).source, path);
    std::filesystem::remove(path);
}

// The shipped conf/gatehouse.toml is valid.
TEST(LoadConfig, ShippedConfigIsValid) {
    const std::string path = std::string(GATEHOUSE_SOURCE_DIR) + "/conf/gatehouse.toml";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " does not exist";
    config c;
    ASSERT_NO_THROW(c = load_config(path));
    EXPECT_FALSE(c.upstream.nodes.empty());
    EXPECT_FALSE(c.proxy.listen.empty());
    // It names a token file (created by serve when missing) and does not open the admin API without a token.
    EXPECT_FALSE(c.admin.token_file.empty());
    EXPECT_FALSE(c.admin.allow_no_token);
    EXPECT_FALSE(admin_token_problem(c, false)) << admin_token_problem(c, false)->to_string();
}

// Warnings point out legal but doubtful settings, and a default config has none.
TEST(ConfigWarnings, FlagsKeepaliveZeroAndExcessWorkers) {
    EXPECT_TRUE(config_warnings(parse_config(one_node)).empty());
    auto keepalive = config_warnings(parse_config(std::string("[upstream]\nkeepalive = 0\n") + one_node));
    ASSERT_EQ(keepalive.size(), 1u);
    EXPECT_TRUE(contains(keepalive[0], "upstream.keepalive = 0")) << keepalive[0];
    auto idle = config_warnings(parse_config(std::string("[timeouts]\nupstream_idle = \"5s\"\n") + one_node));
    ASSERT_EQ(idle.size(), 1u);
    EXPECT_TRUE(contains(idle[0], "timeouts.upstream_idle")) << idle[0];
    EXPECT_TRUE(config_warnings(parse_config(std::string("[timeouts]\nupstream_idle = \"4900ms\"\n") + one_node)).empty());
    const unsigned cores = std::thread::hardware_concurrency();
    if (cores == 0 || cores >= 256) return;
    auto workers = config_warnings(
        parse_config("[proxy]\nworkers = " + std::to_string(cores + 1) + "\n" + one_node));
    ASSERT_EQ(workers.size(), 1u);
    EXPECT_TRUE(contains(workers[0], "proxy.workers = " + std::to_string(cores + 1))) << workers[0];
}

// [health_check] keys are read, statuses accept numbers and ranges, and slow_start lives in [upstream].
TEST(LoadConfig, ReadsHealthCheckSection) {
    const auto c = parse_config(std::string(R"([upstream]
slow_start = "30s"
balance = "ip_hash"
[health_check]
path = "/api/__health_check"
host = "app.example"
interval = "500ms"
timeout = "400ms"
rise = 4
fall = 5
expect_status = [200, "300-399"]
expect_body = ""
jitter = "0ms"
max_fails = 7
fail_timeout = "2s"
fail_timeout_max = "1m"
fail_on_5xx = true
starting_interval = "250ms"
)") + one_node);
    const auto& h = c.health_check;
    EXPECT_EQ(h.starting_interval, std::chrono::milliseconds(250));
    EXPECT_EQ(c.upstream.slow_start, std::chrono::seconds(30));
    EXPECT_EQ(c.upstream.balance, balance_policy::ip_hash);
    EXPECT_EQ(h.host, "app.example");
    EXPECT_EQ(h.interval, std::chrono::milliseconds(500));
    EXPECT_EQ(h.timeout, std::chrono::milliseconds(400));
    EXPECT_EQ(h.rise, 4u);
    EXPECT_EQ(h.fall, 5u);
    ASSERT_EQ(h.expect_status.size(), 2u);
    EXPECT_EQ(h.expect_status[1].low, 300u);
    EXPECT_EQ(h.expect_status[1].high, 399u);
    EXPECT_EQ(h.expect_body, "");
    EXPECT_EQ(h.max_fails, 7u);
    EXPECT_EQ(h.fail_timeout_max, std::chrono::minutes(1));
    EXPECT_TRUE(h.fail_on_5xx);
}

// Bad health-check values are reported with their key.
TEST(LoadConfig, RejectsBadHealthCheckValues) {
    try {
        parse_config(std::string("[health_check]\npath = \"nope\"\nexpect_status = [\"600-700\"]\nrise = 0\n"
                                 "starting_interval = \"0ms\"\n") + one_node);
        FAIL() << "accepted";
    } catch (const config_error& e) {
        const std::string text = e.what();
        EXPECT_TRUE(contains(text, "health_check.path")) << text;
        EXPECT_TRUE(contains(text, "health_check.expect_status[0]")) << text;
        EXPECT_TRUE(contains(text, "health_check.rise")) << text;
        EXPECT_TRUE(contains(text, "health_check.starting_interval")) << text;
    }
}

// A health path outside /api/ would always pass on a NocoBase node: `gatehouse check` warns.
TEST(ConfigWarnings, FlagsHealthPathOutsideApi) {
    const auto w = config_warnings(parse_config(std::string("[health_check]\npath = \"/health\"\n") + one_node));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_TRUE(contains(w[0], "not under /api/")) << w[0];
}
