// Bodies in every framing pass intact, and huge ones pass in constant memory.
#include "harness.hpp"

#include <iostream>

namespace gatehouse::test {
namespace {

class Streaming : public GatehouseTest {};

constexpr std::uint64_t one_gib = 1024ull * 1024 * 1024;
constexpr long memory_bound_kib = 32 * 1024;

/// Something like a real body: not one repeated byte.
std::string varied_body(std::size_t n) {
    std::string s(n, '\0');
    std::uint32_t x = 2463534242u;
    for (auto& c : s) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x & 0xff);
    }
    return s;
}

/// gatehouse's RSS when a transfer starts, and the check that its peak grew by less than memory_bound_kib.
class memory_watch {
public:
    explicit memory_watch(const gatehouse_process& gh) : gh_(gh), reset_(gh.reset_peak_rss()), before_(gh.rss_kib()) {}
    long before() const noexcept { return before_; }

    void expect_bounded() const {
        const long peak = gh_.peak_rss_kib();
        ::testing::Test::RecordProperty("rss_before_kib", static_cast<int>(before_));
        ::testing::Test::RecordProperty("peak_rss_kib", static_cast<int>(peak));
        std::cout << "gatehouse RSS before " << before_ << " KiB, peak after " << peak << " KiB (peak reset: " << reset_
                  << ")\n";
        EXPECT_LT(peak - before_, memory_bound_kib)
            << "RSS before " << before_ << " KiB, peak " << peak << " KiB (peak reset: " << reset_ << ")";
    }

private:
    const gatehouse_process& gh_;
    bool reset_;
    long before_;
};

std::string chunk(std::string_view data, std::string_view extension = {}) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx", data.size());
    std::string out = size;
    out.append(extension).append("\r\n").append(data).append("\r\n");
    return out;
}

// A 1 GiB upload (Content-Length, sent in pieces) is counted whole by the node while gatehouse's peak RSS grows < 32 MiB.
// Streamed (request_buffering = false): buffered, it would first go to a 1 GiB temporary file.
TEST_F(Streaming, OneGibUploadIsCountedWithBoundedMemory) {
    add_upstream("alpha");
    auto& gh = start_gatehouse({.proxy = {{"request_buffering", "false"}}, .limits = {{"max_request_body", "2GiB"}}});
    ASSERT_EQ(get(gh.port(), "/").status, 200u);  // buffers and the pooled connection exist before measuring
    const memory_watch memory(gh);
    ASSERT_GT(memory.before(), 0);

    client_connection c(gh.port(), 60s);
    c.send("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
           std::to_string(one_gib) + "\r\n\r\n");
    const std::string piece = pattern(0, 1024 * 1024);
    for (std::uint64_t sent = 0; sent < one_gib; sent += piece.size()) c.send(piece);
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "bytes=1073741824");

    memory.expect_bounded();
}

// A 1 GiB download arrives whole and intact while gatehouse's peak RSS grows < 32 MiB.
TEST_F(Streaming, OneGibDownloadArrivesIntactWithBoundedMemory) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    ASSERT_EQ(get(gh.port(), "/").status, 200u);
    const memory_watch memory(gh);
    ASSERT_GT(memory.before(), 0);

    client_connection c(gh.port(), 60s);
    c.send(get_request("/download/" + std::to_string(one_gib)));
    std::uint64_t offset = 0;
    std::uint64_t first_mismatch = UINT64_MAX;
    const auto r = c.read_response([&](const char* data, std::size_t n) {
        if (first_mismatch == UINT64_MAX && !matches_pattern(offset, data, n)) first_mismatch = offset;
        offset += n;
    });
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.header("Content-Length"), std::to_string(one_gib));
    EXPECT_EQ(r.body_size, one_gib);
    EXPECT_EQ(first_mismatch, UINT64_MAX) << "body differs in the piece at offset " << first_mismatch;

    memory.expect_bounded();
}

// A chunked request body (small, and larger than gatehouse holds whole) reaches the node intact.
TEST_F(Streaming, ChunkedRequestBodyReachesNodeIntact) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    for (const std::size_t total : {std::size_t(1000), std::size_t(300'000)}) {
        SCOPED_TRACE(total);
        const auto body = varied_body(total);
        std::string wire = "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
        std::size_t at = 0;
        for (const std::size_t size : {std::size_t(1), std::size_t(17), std::size_t(4096), std::size_t(65536)}) {
            if (at + size > total) break;
            wire += chunk(std::string_view(body).substr(at, size));
            at += size;
        }
        while (at < total) {
            const auto size = std::min<std::size_t>(100'000, total - at);
            wire += chunk(std::string_view(body).substr(at, size));
            at += size;
        }
        wire += "0\r\n\r\n";
        c.send(wire);
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 500);
        EXPECT_EQ(r.body.size(), total);
        EXPECT_TRUE(r.body == body) << "echoed body differs";
    }
}

// Chunk extensions and request trailers are dropped, and the body itself still arrives intact.
TEST_F(Streaming, ChunkedRequestWithExtensionsAndTrailersReachesNodeIntact) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const auto body = varied_body(5000);
    const auto secret = unique_marker("trailer");
    std::string wire = "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    wire += chunk(std::string_view(body).substr(0, 3000), ";name=value");
    wire += chunk(std::string_view(body).substr(3000), ";flag");
    wire += "0\r\nX-Trailer: " + secret + "\r\n\r\n";
    client_connection c(gh.port());
    c.send(wire);
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 500);
    EXPECT_TRUE(r.body == body) << "echoed body differs (" << r.body.size() << " bytes)";
    c.send(get_request("/"));
    EXPECT_EQ(c.read_response().status, 200u);
    EXPECT_FALSE(node.received(secret));
}

// A chunked response arrives intact (re-chunked), and the connection serves the next request.
TEST_F(Streaming, ChunkedResponseArrivesIntact) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    c.send(get_request("/chunked/100000"));
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 500);
    EXPECT_TRUE(r.chunked);
    EXPECT_EQ(r.body.size(), 100000u);
    EXPECT_TRUE(r.body == pattern(0, 100000)) << "body differs";
    c.send(get_request("/"));
    EXPECT_EQ(c.read_response().body, "node=alpha");
}

// A close-delimited response reaches an HTTP/1.1 client intact, re-chunked, on a connection that stays usable.
TEST_F(Streaming, CloseDelimitedResponseIsRechunkedForHttp11Client) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    c.send(get_request("/eof/5000"));
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 500);
    EXPECT_TRUE(r.chunked) << r.raw_head();
    EXPECT_TRUE(r.body == pattern(0, 5000)) << "body differs (" << r.body.size() << " bytes)";
    c.send(get_request("/"));
    EXPECT_EQ(c.read_response().body, "node=alpha");
}

// A close-delimited response reaches an HTTP/1.0 client intact, and the connection then closes.
TEST_F(Streaming, CloseDelimitedResponseReachesHttp10Client) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    c.send("GET /eof/5000 HTTP/1.0\r\nHost: localhost\r\n\r\n");
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 500);
    EXPECT_FALSE(r.chunked) << r.raw_head();
    EXPECT_TRUE(r.body == pattern(0, 5000)) << "body differs (" << r.body.size() << " bytes)";
    EXPECT_TRUE(c.is_closed_by_peer(3s));
}

// A chunked response with trailer fields arrives with its body intact, and the connection stays usable.
TEST_F(Streaming, TrailersResponseBodyArrivesIntact) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    c.send(get_request("/trailers"));
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "hello, trailer world");
    c.send(get_request("/"));
    EXPECT_EQ(c.read_response().body, "node=alpha");
}

}  // namespace
}  // namespace gatehouse::test
