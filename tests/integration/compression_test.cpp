// [compression]: node answers gzipped on the way when the client accepts it, decoded by the test and compared byte for
// byte, in every framing; and each case that must pass untouched (small, no Accept-Encoding, already encoded, ranges,
// event streams); HEAD gets the same fields; a streamed answer stays live; an 8 MiB one passes in bounded memory.
#include "harness.hpp"

#include "support/scripted_node.hpp"

#include <zlib.h>

namespace gatehouse::test {
namespace {

/// Inflates a gzip stream as its bytes come.
class gunzip {
public:
    gunzip() { inflateInit2(&z_, 15 + 16); }
    ~gunzip() { inflateEnd(&z_); }
    gunzip(const gunzip&) = delete;
    gunzip& operator=(const gunzip&) = delete;
    /// Appends what `in` decodes to; false on a corrupt stream.
    bool feed(const char* in, std::size_t n, std::string& out) {
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
        z_.avail_in = static_cast<uInt>(n);
        char buf[32768];
        do {
            z_.next_out = reinterpret_cast<Bytef*>(buf);
            z_.avail_out = sizeof buf;
            const int rc = inflate(&z_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) ended_ = true;
            else if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
            out.append(buf, sizeof buf - z_.avail_out);
        } while (z_.avail_out == 0);
        return true;
    }
    bool ended() const noexcept { return ended_; }

private:
    z_stream z_{};
    bool ended_ = false;
};

std::string gunzipped(const std::string& data, bool* ended = nullptr) {
    gunzip g;
    std::string out;
    if (!g.feed(data.data(), data.size(), out)) return "<corrupt gzip>";
    if (ended) *ended = g.ended();
    return out;
}

/// JSON like a NocoBase list answer, `n` bytes.
std::string json_body(std::size_t n, unsigned seed = 1) {
    std::string s = "{\"data\":[";
    for (unsigned i = 0; s.size() < n; ++i)
        s += "{\"id\":" + std::to_string(i * seed) + ",\"nickname\":\"user" + std::to_string(i * 7919 % 1013) +
             "\",\"email\":\"u" + std::to_string(i) + "@example.com\"},";
    s.resize(n);
    return s;
}

std::string gzip_request(std::string_view target, std::string_view extra = {}) {
    return get_request(target, "Accept-Encoding: gzip, deflate, br\r\n" + std::string(extra));
}

const std::string json_fields =
    "Content-Type: application/json; charset=utf-8\r\nETag: \"v1\"\r\nAccept-Ranges: bytes\r\n";

class Compression : public GatehouseTest {
protected:
    /// A node answering GET /json/N with N bytes of JSON (Content-Length), /chunked/N the same chunked in 4 KiB pieces,
    /// /eof/N the same delimited by closing; HEAD with the fields only.
    scripted_node& json_node() {
        node_ = std::make_unique<scripted_node>([](const scripted_request& rq, scripted_reply& reply) {
            const auto slash = rq.target.rfind('/');
            const auto n = static_cast<std::size_t>(std::stoull(rq.target.substr(slash + 1)));
            const auto body = json_body(n);
            if (rq.method == "HEAD") {
                reply.send("HTTP/1.1 200 OK\r\n" + json_fields + "Content-Length: " + std::to_string(n) + "\r\n\r\n");
            } else if (rq.target.starts_with("/chunked/")) {
                std::string out = "HTTP/1.1 200 OK\r\n" + json_fields + "Transfer-Encoding: chunked\r\n\r\n";
                for (std::size_t at = 0; at < n; at += 4096) out += chunk_of(std::string_view(body).substr(at, 4096));
                reply.send(out + "0\r\n\r\n");
            } else if (rq.target.starts_with("/eof/")) {
                reply.send("HTTP/1.1 200 OK\r\n" + json_fields + "Connection: close\r\n\r\n" + body);
                reply.close();
            } else {
                reply.send(fixed_answer(json_fields, body));
            }
        });
        return *node_;
    }

    gatehouse_process& start_with(scripted_node& node, gatehouse_options options = {}) {
        options.nodes = {{"n", node.address()}};
        return start_gatehouse(std::move(options));
    }

    /// A gzipped answer: its fields and, decoded, exactly `expected`.
    static void expect_gzipped(const http_response& r, const std::string& expected) {
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.header("Content-Encoding"), "gzip") << r.raw_head();
        EXPECT_FALSE(r.has("Content-Length")) << r.raw_head();
        EXPECT_EQ(r.header("Vary"), "Accept-Encoding");
        EXPECT_EQ(r.header("ETag"), "W/\"v1\"") << "a strong ETag is weakened";
        EXPECT_FALSE(r.has("Accept-Ranges")) << "no ranges of the gzip bytes";
        EXPECT_LT(r.body.size(), expected.size() / 2);
        bool ended = false;
        EXPECT_TRUE(gunzipped(r.body, &ended) == expected) << "decoded body differs";
        EXPECT_TRUE(ended) << "the gzip stream is not complete";
    }

    std::unique_ptr<scripted_node> node_;
};

// A JSON answer above min_length is gzipped whatever the node's framing: held whole (20 KB), streamed (300 KB), chunked,
// close-delimited; the connection then serves the next request.
TEST_F(Compression, JsonAnswerIsGzippedInEveryFraming) {
    auto& gh = start_with(json_node());
    client_connection c(gh.port());
    for (const std::string target : {"/json/20000", "/json/300000", "/chunked/200000", "/chunked/3000"}) {
        SCOPED_TRACE(target);
        c.send(gzip_request(target));
        const auto r = c.read_response();
        EXPECT_TRUE(r.chunked);
        expect_gzipped(r, json_body(std::stoul(target.substr(target.rfind('/') + 1))));
    }
    c.send(gzip_request("/eof/100000"));
    const auto r = c.read_response();
    EXPECT_TRUE(r.chunked);
    expect_gzipped(r, json_body(100000));
}

// An HTTP/1.0 client gets the gzip stream delimited by the close (no chunked framing exists for it).
TEST_F(Compression, Http10ClientGetsCloseDelimitedGzip) {
    auto& gh = start_with(json_node());
    for (const std::string target : {"/json/20000", "/json/300000"}) {
        client_connection c(gh.port());
        c.send("GET " + target + " HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\nAccept-Encoding: gzip\r\n\r\n");
        const auto r = c.read_response();
        EXPECT_FALSE(r.chunked);
        expect_gzipped(r, json_body(std::stoul(target.substr(target.rfind('/') + 1))));
        EXPECT_TRUE(c.is_closed_by_peer(5s));
    }
}

// Below min_length, without Accept-Encoding, with gzip refused (q=0), or with compression off: the answer passes as
// the node sent it, with its Content-Length; Vary only when the client's choice decided.
TEST_F(Compression, IdentityWhenSmallNotAcceptedOrOff) {
    auto& gh = start_with(json_node());
    const auto small = get(gh.port(), "/json/1000", "Accept-Encoding: gzip\r\n");
    EXPECT_FALSE(small.has("Content-Encoding"));
    EXPECT_EQ(small.header("Content-Length"), "1000");
    EXPECT_FALSE(small.has("Vary"));
    EXPECT_EQ(small.header("ETag"), "\"v1\"");
    EXPECT_EQ(small.header("Accept-Ranges"), "bytes");
    EXPECT_TRUE(small.body == json_body(1000));
    for (const std::string extra : {"", "Accept-Encoding: identity\r\n", "Accept-Encoding: gzip;q=0, br\r\n"}) {
        SCOPED_TRACE(extra);
        const auto r = get(gh.port(), "/json/20000", extra);
        EXPECT_FALSE(r.has("Content-Encoding"));
        EXPECT_EQ(r.header("Content-Length"), "20000");
        EXPECT_EQ(r.header("Vary"), "Accept-Encoding") << "the answer depended on Accept-Encoding";
        EXPECT_EQ(r.header("ETag"), "\"v1\"");
        EXPECT_TRUE(r.body == json_body(20000));
    }
    auto& off = start_with(*node_, {.compression = {{"enabled", "false"}}});
    const auto r = get(off.port(), "/json/20000", "Accept-Encoding: gzip\r\n");
    EXPECT_FALSE(r.has("Content-Encoding"));
    EXPECT_FALSE(r.has("Vary"));
    EXPECT_TRUE(r.body == json_body(20000));
}

// What the node compressed itself, what is not a listed type, and what says no-transform pass untouched.
TEST_F(Compression, NodeEncodedUnlistedAndNoTransformPassUntouched) {
    const std::string gz = std::string("\x1f\x8b\x08\x00", 4) + std::string(3000, 'z');  // opaque to gatehouse
    scripted_node node([&](const scripted_request& rq, scripted_reply& reply) {
        if (rq.target == "/encoded")
            reply.send(fixed_answer("Content-Type: application/json\r\nContent-Encoding: gzip\r\n", gz));
        else if (rq.target == "/png")
            reply.send(fixed_answer("Content-Type: image/png\r\n", json_body(5000)));
        else
            reply.send(fixed_answer("Content-Type: application/json\r\nCache-Control: no-transform\r\n", json_body(5000)));
    });
    auto& gh = start_with(node);
    const auto encoded = get(gh.port(), "/encoded", "Accept-Encoding: gzip\r\n");
    EXPECT_EQ(encoded.header("Content-Encoding"), "gzip");
    EXPECT_EQ(encoded.header("Content-Length"), std::to_string(gz.size()));
    EXPECT_TRUE(encoded.body == gz) << "the node's own encoding is passed byte for byte";
    for (const char* target : {"/png", "/no-transform"}) {
        const auto r = get(gh.port(), target, "Accept-Encoding: gzip\r\n");
        EXPECT_FALSE(r.has("Content-Encoding")) << target;
        EXPECT_EQ(r.header("Content-Length"), "5000") << target;
        EXPECT_TRUE(r.body == json_body(5000)) << target;
    }
}

// A 206 (a byte range of the identity body) is never compressed.
TEST_F(Compression, PartialContentIsNeverCompressed) {
    const auto body = json_body(5000);
    scripted_node node([&](const scripted_request&, scripted_reply& reply) {
        reply.send(fixed_answer("Content-Type: application/json\r\nContent-Range: bytes 0-4999/90000\r\n", body, 206));
    });
    auto& gh = start_with(node);
    const auto r = get(gh.port(), "/file.json", "Range: bytes=0-4999\r\nAccept-Encoding: gzip\r\n");
    EXPECT_EQ(r.status, 206u);
    EXPECT_FALSE(r.has("Content-Encoding"));
    EXPECT_EQ(r.header("Content-Length"), "5000");
    EXPECT_TRUE(r.body == body);
}

// HEAD gets the fields a GET would (gzip, Vary, weak ETag, no length) and no body; the connection goes on.
TEST_F(Compression, HeadGetsTheSameFieldsWithoutABody) {
    auto& gh = start_with(json_node());
    client_connection c(gh.port());
    c.send("HEAD /json/20000 HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n");
    const auto head = c.read_response(true);
    EXPECT_EQ(head.status, 200u);
    EXPECT_EQ(head.header("Content-Encoding"), "gzip");
    EXPECT_EQ(head.header("Vary"), "Accept-Encoding");
    EXPECT_EQ(head.header("ETag"), "W/\"v1\"");
    EXPECT_FALSE(head.has("Content-Length"));
    EXPECT_TRUE(head.body.empty());
    c.send(gzip_request("/json/20000"));
    expect_gzipped(c.read_response(), json_body(20000));
}

// A node that streams JSON in pieces: each piece decodes at the client before the node writes the next (sync flush).
TEST_F(Compression, StreamedJsonStaysLiveThroughGzip) {
    constexpr unsigned pieces = 5;
    const auto piece = [](unsigned k) { return "{\"row\":" + std::to_string(k) + ",\"pad\":\"" + std::string(300, 'x') + "\"}\n"; };
    step_gate gate;
    std::atomic<bool> stalled{false};
    scripted_node node([&](const scripted_request&, scripted_reply& reply) {
        reply.send("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (unsigned k = 1; k <= pieces; ++k) {
            reply.send(chunk_of(piece(k)));
            if (!gate.wait(k, 15s)) {
                stalled = true;
                return reply.close();
            }
        }
        reply.send("0\r\n\r\n");
    });
    auto& gh = start_with(node, {.compression = {{"types", "[\"application/x-ndjson\"]"}}});
    client_connection c(gh.port(), 30s);
    c.send(gzip_request("/api/export"));
    gunzip g;
    std::string decoded;
    unsigned got = 0;
    bool corrupt = false;
    const auto r = c.read_response([&](const char* data, std::size_t n) {
        corrupt = corrupt || !g.feed(data, n, decoded);
        while (got < pieces && decoded.find(piece(got + 1)) != std::string::npos) gate.open(++got);
    });
    EXPECT_FALSE(stalled) << "a gzipped piece was held back until the node wrote more";
    EXPECT_FALSE(corrupt);
    EXPECT_EQ(r.header("Content-Encoding"), "gzip");
    EXPECT_EQ(got, pieces);
    EXPECT_TRUE(g.ended());
}

// An 8 MiB chunked JSON answer is gzipped and arrives intact while gatehouse's peak RSS grows by less than 16 MiB.
TEST_F(Compression, LargeChunkedJsonIsGzippedInBoundedMemory) {
    constexpr std::size_t total = 8 * 1024 * 1024;
    constexpr std::size_t block = 64 * 1024;
    const auto part = [](std::size_t i) { return json_body(block, static_cast<unsigned>(i % 7 + 1)); };
    scripted_node node([&](const scripted_request&, scripted_reply& reply) {
        reply.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (std::size_t i = 0; i < total / block; ++i)
            if (!reply.send(chunk_of(part(i)))) return;
        reply.send("0\r\n\r\n");
    });
    auto& gh = start_with(node, {.compression = {{"level", "6"}}});
    ASSERT_EQ(get(gh.port(), "/warm", "Accept-Encoding: gzip\r\n").status, 200u);  // buffers exist before measuring
    gh.reset_peak_rss();
    const long before = gh.rss_kib();
    client_connection c(gh.port(), 60s);
    c.send(gzip_request("/api/big"));
    gunzip g;
    std::string decoded;
    std::size_t checked = 0, mismatches = 0;
    bool corrupt = false;
    std::uint64_t wire = 0;
    const auto r = c.read_response([&](const char* data, std::size_t n) {
        wire += n;
        corrupt = corrupt || !g.feed(data, n, decoded);
        while (decoded.size() >= block) {  // compare block by block, keep little
            if (decoded.compare(0, block, part(checked)) != 0) ++mismatches;
            decoded.erase(0, block);
            ++checked;
        }
    });
    const long peak = gh.peak_rss_kib();
    EXPECT_EQ(r.header("Content-Encoding"), "gzip");
    EXPECT_FALSE(corrupt);
    EXPECT_TRUE(g.ended());
    EXPECT_EQ(checked, total / block);
    EXPECT_EQ(mismatches, 0u);
    EXPECT_TRUE(decoded.empty());
    EXPECT_LT(wire, total / 3);
    std::cout << "8 MiB gzipped to " << wire << " bytes; gatehouse RSS before " << before << " KiB, peak " << peak
              << " KiB\n";
    EXPECT_LT(peak - before, 16 * 1024) << "RSS before " << before << " KiB, peak " << peak << " KiB";
}

// The metrics count gzipped answers and their bytes before and after.
TEST_F(Compression, MetricsCountCompressedAnswersAndBytes) {
    auto& gh = start_with(json_node());
    for (int i = 0; i < 3; ++i) ASSERT_EQ(get(gh.port(), "/json/20000", "Accept-Encoding: gzip\r\n").status, 200u);
    ASSERT_EQ(get(gh.port(), "/json/20000").status, 200u);  // identity: not counted
    const auto m = get(gh.admin_port(), "/metrics").body;
    EXPECT_NE(m.find("gatehouse_compressed_responses_total 3"), std::string::npos) << m;
    EXPECT_NE(m.find("gatehouse_compression_bytes_total{direction=\"in\"} 60000"), std::string::npos) << m;
    EXPECT_NE(m.find("gatehouse_compression_bytes_total{direction=\"out\"}"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::test
