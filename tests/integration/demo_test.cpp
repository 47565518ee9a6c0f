// The demo: a demo node's /bytes/N is bounded (and costs no memory per size asked), and `gatehouse demo` listens on
// loopback unless --public.
#include "admin_client.hpp"
#include "run_command.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace gatehouse::test {
namespace {

class Demo : public GatehouseTest {};

long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

/// Whether 127.0.0.2:port can be bound now (it cannot while someone listens on 0.0.0.0:port).
bool can_bind_other_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

/// The body size of GET `target` (bytes counted, not kept).
std::pair<unsigned, std::size_t> get_size(std::uint16_t port, const std::string& target) {
    client_connection c(port, 10s);
    c.send(get_request(target, "Connection: close\r\n"));
    std::size_t size = 0;
    const auto r = c.read_response([&](const char*, std::size_t n) { size += n; });
    return {r.status, size};
}

TEST_F(Demo, DemoNodeBytesAreBoundedAndCostNoMemoryPerSize) {
    const auto port = reserve_port();
    running_command node({"upstream", "--listen", "127.0.0.1:" + std::to_string(port), "--name", "n1"},
                         scratch_dir());
    ASSERT_TRUE(node.wait_for_output("listening on", 5s)) << node.output();
    const auto one = get(port, "/bytes/1024");
    EXPECT_EQ(one.status, 200u);
    EXPECT_EQ(one.body, std::string(1024, 'x'));
    EXPECT_EQ(get(port, "/bytes/0").body, "");
    EXPECT_EQ(get_size(port, "/bytes/67108864"), std::make_pair(200u, std::size_t{64} << 20));
    for (const char* bad : {"/bytes/67108865", "/bytes/99999999999999999999", "/bytes/abc", "/bytes/12x", "/bytes/"})
        EXPECT_EQ(get(port, bad).status, 400u) << bad;

    // Sizes asked for are not kept: eight different 8 MiB bodies do not add 64 MiB to the node.
    const long before = rss_kib(node.pid());
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(get_size(port, "/bytes/" + std::to_string((8 << 20) - i)).second, std::size_t((8 << 20) - i));
    const long after = rss_kib(node.pid());
    ASSERT_GT(before, 0);
    EXPECT_LT(after - before, 16 * 1024) << "RSS " << before << " -> " << after << " KiB";

    // /__demo/connections counts the connections the node accepted (itself included): what the bench reads.
    const auto first = get(port, "/__demo/connections");
    EXPECT_EQ(first.status, 200u);
    EXPECT_EQ(get(port, "/__demo/connections").body, std::to_string(std::stoul(first.body) + 1));
}

// `gatehouse demo` on a configuration listening on 0.0.0.0 listens on 127.0.0.1 (same port) and says so; with
// --public, as configured. Its admin API serves loopback clients without a token (the demo's implied opt-out).
TEST_F(Demo, DemoListensOnLoopbackUnlessPublic) {
    const auto port = reserve_port(), node_port = reserve_port(), admin_port = reserve_port();
    const std::string path = scratch_dir() + "/demo.toml";
    std::ofstream(path) << "[proxy]\nlisten = [\"0.0.0.0:" << port << "\"]\nworkers = 1\n"
                        << "[[upstream.node]]\nname = \"node1\"\naddress = \"127.0.0.1:" << node_port << "\"\n"
                        << "[health_check]\nenabled = false\n[admin]\nlisten = \"127.0.0.1:" << admin_port
                        << "\"\ntoken_env = \"\"\n[log]\naccess = \"off\"\n";
    {
        running_command demo({"demo", "-c", path}, scratch_dir());
        ASSERT_TRUE(demo.wait_for_output("gatehouse listening on 127.0.0.1:" + std::to_string(port), 5s))
            << demo.output();
        EXPECT_NE(demo.output().find("0.0.0.0:" + std::to_string(port) + " -> 127.0.0.1:" + std::to_string(port)),
                  std::string::npos)
            << demo.output();
        EXPECT_EQ(get(port, "/").header("X-Node"), "node1");
        EXPECT_TRUE(can_bind_other_loopback(port)) << "the demo listens on more than loopback";
        client_connection c(admin_port, 10s);
        c.send("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        EXPECT_EQ(c.read_response().status, 200u);
    }
    running_command demo({"demo", "--public", "-c", path}, scratch_dir());
    ASSERT_TRUE(demo.wait_for_output("gatehouse listening on 0.0.0.0:" + std::to_string(port), 5s)) << demo.output();
    EXPECT_FALSE(can_bind_other_loopback(port));
}

}  // namespace
}  // namespace gatehouse::test
