// Request bodies are read whole before a node is chosen (proxy.request_buffering): a slow upload holds no node
// connection, large bodies go through an unlinked temporary file and arrive intact, chunked bodies reach the node
// with a Content-Length, a buffered body can be sent again, and limits.max_request_body / timeouts.client_body hold.
#include "harness.hpp"

#include <filesystem>
#include <thread>
#include <unistd.h>

namespace gatehouse::test {
namespace {

using clock = std::chrono::steady_clock;

class RequestBuffering : public GatehouseTest {};

std::string chunked(std::string_view body, std::size_t piece) {
    std::string out;
    char size[32];
    for (std::size_t at = 0; at < body.size(); at += piece) {
        const auto n = std::min(piece, body.size() - at);
        std::snprintf(size, sizeof size, "%zx\r\n", n);
        out.append(size).append(body.substr(at, n)).append("\r\n");
    }
    return out + "0\r\n\r\n";
}

/// Descriptors of process `pid` that point into `dir` (an unlinked temporary file shows as "dir/#123 (deleted)").
std::size_t fds_into(pid_t pid, const std::string& dir) {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code lec;
        const auto target = std::filesystem::read_symlink(e.path(), lec).string();
        if (!lec && target.rfind(dir + "/", 0) == 0) ++n;
    }
    return n;
}

// A 300 KiB upload sent in six pieces 150 ms apart: no node connection is opened until the last byte is in; then
// the node counts the whole body.
TEST_F(RequestBuffering, SlowUploadOpensNoNodeConnectionUntilComplete) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const std::size_t total = 300 * 1024, piece = 50 * 1024;
    const auto body = pattern(0, total);
    client_connection c(gh.port(), 10s);
    c.send("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n");
    for (std::size_t at = 0; at + piece < total; at += piece) {
        c.send(std::string_view(body).substr(at, piece));
        // The pause is the scenario (a slow client); meanwhile the node must see nothing.
        EXPECT_FALSE(wait_until([&] { return node.connections() > 0; }, 150ms))
            << "a node connection was opened after " << at + piece << " of " << total << " bytes";
    }
    c.send(std::string_view(body).substr(total - piece));
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "bytes=" + std::to_string(total));
    EXPECT_EQ(node.connections(), 1u);
}

// The same for a chunked upload, which reaches the node de-chunked, with a Content-Length.
TEST_F(RequestBuffering, SlowChunkedUploadIsSentWithContentLengthWhenComplete) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const std::size_t total = 200 * 1024;
    const auto wire = chunked(pattern(0, total), 10 * 1024);
    client_connection c(gh.port(), 10s);
    c.send("POST /count HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::size_t piece = wire.size() / 4 + 1;
    for (std::size_t at = 0; at < wire.size(); at += piece) {
        EXPECT_FALSE(wait_until([&] { return node.connections() > 0; }, 100ms)) << "after " << at << " bytes";
        c.send(std::string_view(wire).substr(at, piece));
    }
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "bytes=" + std::to_string(total));
    const auto head = node.last_head();
    EXPECT_EQ(head_field(head, "Content-Length"), std::to_string(total)) << head;
    EXPECT_TRUE(head_fields(head, "Transfer-Encoding").empty()) << head;
}

// 6 MiB uploads, Content-Length and chunked, arrive intact (echoed back whole).
TEST_F(RequestBuffering, MultiMibUploadsArriveIntact) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    const std::size_t total = 6 * 1024 * 1024;
    const auto body = pattern(3, total);
    client_connection c(gh.port(), 30s);
    c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n");
    c.send(body);
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 300);
    EXPECT_EQ(r.body.size(), total);
    EXPECT_TRUE(r.body == body) << "echoed body differs";

    c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send(chunked(body, 100'000));
    r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 300);
    EXPECT_EQ(r.body.size(), total);
    EXPECT_TRUE(r.body == body) << "echoed body differs";
}

// A 256 MiB upload is buffered through its temporary file and sent on in 64 KiB pieces: the node counts it whole
// while gatehouse's peak RSS grows by less than 16 MiB (a guard: streaming passed this too).
TEST_F(RequestBuffering, LargeBufferedUploadUsesBoundedMemory) {
    add_upstream("alpha");
    auto& gh = start_gatehouse();
    ASSERT_EQ(get(gh.port(), "/").status, 200u);  // buffers and the pooled connection exist before measuring
    const bool reset = gh.reset_peak_rss();
    const long before = gh.rss_kib();
    ASSERT_GT(before, 0);
    const std::uint64_t total = 256ull * 1024 * 1024;
    client_connection c(gh.port(), 60s);
    c.send("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n");
    const std::string piece = pattern(0, 1024 * 1024);
    for (std::uint64_t sent = 0; sent < total; sent += piece.size()) c.send(piece);
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body, "bytes=" + std::to_string(total));
    const long peak = gh.peak_rss_kib();
    EXPECT_LT(peak - before, 16 * 1024) << "RSS before " << before << " KiB, peak " << peak << " KiB (reset " << reset << ")";
}

// Past limits.request_buffer_memory the body is in a temporary file in limits.request_buffer_dir, unlinked at
// once (no name in the directory, only gatehouse's descriptor), closed when the request ends; it arrives intact.
TEST_F(RequestBuffering, BodyPastTheMemoryLimitGoesThroughAnUnlinkedFile) {
    add_upstream("alpha");
    const auto dir = scratch_dir();
    auto& gh = start_gatehouse({.limits = {{"request_buffer_memory", "16KiB"}, {"request_buffer_dir", dir}}});
    const std::size_t total = 200 * 1024;
    const auto body = pattern(5, total);
    client_connection c(gh.port(), 10s);
    c.send("PUT /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n");
    c.send(std::string_view(body).substr(0, 100 * 1024));
    EXPECT_TRUE(wait_until([&] { return fds_into(gh.pid(), dir) == 1; }, 3s)) << "no temporary file in " << dir;
    EXPECT_TRUE(std::filesystem::is_empty(dir));
    c.send(std::string_view(body).substr(100 * 1024));
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 300);
    EXPECT_TRUE(r.body == body) << "echoed body differs (" << r.body.size() << " bytes)";
    EXPECT_TRUE(wait_until([&] { return fds_into(gh.pid(), dir) == 0; }, 3s)) << "temporary file still open";
}

// A body below the memory limit makes no temporary file.
TEST_F(RequestBuffering, BodyWithinTheMemoryLimitMakesNoFile) {
    add_upstream("alpha");
    const auto dir = scratch_dir();
    auto& gh = start_gatehouse({.limits = {{"request_buffer_memory", "1MiB"}, {"request_buffer_dir", dir}}});
    const auto body = pattern(0, 300 * 1024);
    client_connection c(gh.port(), 10s);
    c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    c.send(std::string_view(body).substr(0, 1000));
    EXPECT_FALSE(wait_until([&] { return fds_into(gh.pid(), dir) > 0; }, 300ms));
    c.send(std::string_view(body).substr(1000));
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200u);
    EXPECT_TRUE(r.body == body);
}

// A chunked body that passes limits.max_request_body mid-way gets 413 and reaches no node; so does a declared
// Content-Length over it.
TEST_F(RequestBuffering, ChunkedBodyOverTheLimitGets413AndReachesNoNode) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.limits = {{"max_request_body", "100KiB"}}});
    const auto wire = chunked(pattern(0, 150 * 1024), 10 * 1024);
    auto r = raw_exchange(gh.port(), "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + wire);
    EXPECT_EQ(r.status(), 413u) << r.data.substr(0, 300);
    EXPECT_TRUE(r.closed);
    r = raw_exchange(gh.port(), "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 102401\r\n\r\n");
    EXPECT_EQ(r.status(), 413u) << r.data.substr(0, 300);
    // Exactly the limit passes.
    client_connection c(gh.port(), 10s);
    const auto body = pattern(0, 100 * 1024);
    c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body, 7000));
    const auto ok = c.read_response();
    EXPECT_EQ(ok.status, 200u);
    EXPECT_TRUE(ok.body == body);
    EXPECT_EQ(node.requests(), 1u);
}

// A malformed chunked body (a bad chunk size, or a chunk-size line longer than gatehouse holds) gets 400, and no node
// hears of the request: the body is checked whole before a node is chosen.
TEST_F(RequestBuffering, MalformedChunkedBodyGets400AndReachesNoNode) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const std::string head = "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    auto r = raw_exchange(gh.port(), head + "5\r\nhello\r\nzz\r\nabc\r\n0\r\n\r\n");
    EXPECT_EQ(r.status(), 400u) << r.data.substr(0, 300);
    EXPECT_TRUE(r.closed);
    r = raw_exchange(gh.port(), head + "5;" + std::string(200 * 1024, 'x'));
    EXPECT_EQ(r.status(), 400u) << r.data.substr(0, 300);
    EXPECT_EQ(node.requests(), 0u);
    EXPECT_EQ(node.connections(), 0u);
}

// A large buffered body of an idempotent request (PUT) is sent again when its pooled connection turns out to be
// closed by the node: every request gets 200 with its body intact.
TEST_F(RequestBuffering, LargeIdempotentBodyIsSentAgainOnAFreshConnection) {
    auto& node = add_upstream(upstream_options{.name = "alpha", .drop_reused = true});
    auto& gh = start_gatehouse({.upstream = {{"tries", "1"}}});
    client_connection c(gh.port(), 10s);
    for (int i = 0; i < 3; ++i) {
        const auto body = pattern(static_cast<std::uint64_t>(i), 200 * 1024);
        c.send("PUT /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
        c.send(body);
        const auto r = c.read_response();
        ASSERT_EQ(r.status, 200u) << "request " << i << ": " << r.raw.substr(0, 300);
        EXPECT_TRUE(r.body == body) << "request " << i;
    }
    EXPECT_EQ(node.connections(), 3u);
}

// timeouts.client_body bounds the whole body: a client trickling 1 KiB every 100 ms (inside client_idle) gets 408
// about 1 s after its head, and no node hears of it.
TEST_F(RequestBuffering, TricklingBodyGets408AtClientBodyLimit) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"client_idle", "10s"}, {"client_body", "1s"}}});
    client_connection c(gh.port(), 10s);
    const auto body = pattern(0, 200 * 1024);
    c.send("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    const auto start = clock::now();
    bool closed = false;
    for (std::size_t at = 0; at < body.size() && clock::now() - start < 6s; at += 1024) {
        if (!c.try_send(std::string_view(body).substr(at, 1024)) || c.is_closed_by_peer(100ms)) {
            closed = true;
            break;
        }
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    EXPECT_TRUE(closed);
    EXPECT_LT(elapsed, 3000ms);
    EXPECT_GE(elapsed, 800ms);
    EXPECT_EQ(c.pending().rfind("HTTP/1.1 408 ", 0), 0u) << c.pending();
    EXPECT_EQ(node.connections(), 0u);
}

// The same small trickle with a Content-Length of at most 64 KiB (read whole even without buffering) is bounded too.
TEST_F(RequestBuffering, TricklingSmallBodyGets408AtClientBodyLimit) {
    add_upstream("alpha");
    auto& gh = start_gatehouse({.timeouts = {{"client_idle", "10s"}, {"client_body", "1s"}}});
    client_connection c(gh.port(), 10s);
    c.send("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: 60000\r\n\r\n");
    const auto start = clock::now();
    bool closed = false;
    for (int i = 0; i < 60 && clock::now() - start < 6s; ++i) {
        if (!c.try_send(std::string(100, 'x')) || c.is_closed_by_peer(100ms)) {
            closed = true;
            break;
        }
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    EXPECT_TRUE(closed);
    EXPECT_LT(elapsed, 3000ms);
    EXPECT_EQ(c.pending().rfind("HTTP/1.1 408 ", 0), 0u) << c.pending();
}

// request_buffering = false keeps the old behaviour: a large body is streamed, the node connection opens at once.
TEST_F(RequestBuffering, BufferingOffStreamsTheBody) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse({.proxy = {{"request_buffering", "false"}}});
    client_connection c(gh.port(), 10s);
    const auto body = pattern(0, 300 * 1024);
    c.send("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    c.send(std::string_view(body).substr(0, 100 * 1024));
    EXPECT_TRUE(wait_until([&] { return node.requests() == 1; }, 3s));
    c.send(std::string_view(body).substr(100 * 1024));
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "bytes=" + std::to_string(body.size()));
}

}  // namespace
}  // namespace gatehouse::test
