// Server-sent events reach the client as the node writes them, never held back: the node writes event k+1 only
// after the client has received event k (a handshake, so no timing assumption), chunked and close-delimited, over
// GET and over POST (NocoBase's AI chat streams over POST), and never gzipped.
#include "harness.hpp"

#include "support/scripted_node.hpp"

#include <thread>

namespace gatehouse::test {
namespace {

constexpr unsigned events = 5;
constexpr auto pause = 300ms;      // between two events, on the node
constexpr auto handshake = 15s;    // how long the node waits for the client to have event k (generous: sanitizers)

enum class framing { chunked, close_delimited };

std::string event_text(unsigned k) { return "id: " + std::to_string(k) + "\ndata: {\"delta\":\"token " + std::to_string(k) + "\"}\n\n"; }

/// A NocoBase-like SSE answer: head, then one event per `pause`, each written only after the client has the previous
/// one. A node whose client does not get an event in time stops (so the test fails at once) and says so in `stalled`.
scripted_node::handler sse_handler(framing f, step_gate& gate, std::atomic<bool>& stalled, std::string& request_body) {
    return [f, &gate, &stalled, &request_body](const scripted_request& request, scripted_reply& reply) {
        request_body = request.body;
        std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n";
        head += f == framing::chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n";
        if (!reply.send(head)) return reply.close();
        for (unsigned k = 1; k <= events; ++k) {
            std::this_thread::sleep_for(pause);
            const auto text = event_text(k);
            if (!reply.send(f == framing::chunked ? chunk_of(text) : text)) return reply.close();
            if (!gate.wait(k, handshake)) {
                stalled = true;  // the client did not get event k: something held it back
                return reply.close();
            }
        }
        if (f == framing::chunked) reply.send("0\r\n\r\n");
        else reply.close();
    };
}

class EventStream : public GatehouseTest {
protected:
    /// Runs one stream through gatehouse with `request` and checks every event arrived before the next was written.
    void expect_streamed_live(framing f, const std::string& request) {
        step_gate gate;
        std::atomic<bool> stalled{false};
        std::string request_body;
        scripted_node node(sse_handler(f, gate, stalled, request_body));
        auto& gh = start_gatehouse({.nodes = {{"sse", node.address()}}});

        client_connection c(gh.port(), 30s);
        c.send(request);
        std::string received;
        unsigned got = 0;
        std::vector<std::chrono::steady_clock::time_point> arrivals;
        const auto r = c.read_response([&](const char* data, std::size_t n) {
            received.append(data, n);
            while (got < events && received.find(event_text(got + 1)) != std::string::npos) {
                ++got;
                arrivals.push_back(std::chrono::steady_clock::now());
                gate.open(got);  // the node may write the next one
            }
        });
        EXPECT_FALSE(stalled) << "an event did not reach the client before the node's next write";
        EXPECT_EQ(got, events);
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.header("Content-Type"), "text/event-stream");
        EXPECT_FALSE(r.has("Content-Encoding")) << "an event stream is never compressed";
        EXPECT_FALSE(r.has("Content-Length"));
        std::string all;
        for (unsigned k = 1; k <= events; ++k) all += event_text(k);
        EXPECT_EQ(received, all);
        // Each event came at least the node's pause after the one before (loose: only a lower bound).
        for (std::size_t k = 1; k < arrivals.size(); ++k)
            EXPECT_GE(arrivals[k] - arrivals[k - 1], pause - 50ms) << "event " << k + 1;
        if (request.starts_with("POST")) EXPECT_EQ(request_body, R"({"messages":[{"content":"hi"}]})");
    }
};

const std::string sse_get =
    "GET /api/stream HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nAccept-Encoding: gzip, br\r\n\r\n";

std::string sse_post() {
    const std::string body = R"({"messages":[{"content":"hi"}]})";
    return "POST /api/aiConversations:sendMessages HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
           "Accept-Encoding: gzip, deflate, br\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST_F(EventStream, ChunkedEventsReachTheClientOneByOne) { expect_streamed_live(framing::chunked, sse_get); }

TEST_F(EventStream, CloseDelimitedEventsReachTheClientOneByOne) {
    expect_streamed_live(framing::close_delimited, sse_get);
}

TEST_F(EventStream, ChunkedEventsAnsweringAPostReachTheClientOneByOne) {
    expect_streamed_live(framing::chunked, sse_post());
}

TEST_F(EventStream, CloseDelimitedEventsAnsweringAPostReachTheClientOneByOne) {
    expect_streamed_live(framing::close_delimited, sse_post());
}

}  // namespace
}  // namespace gatehouse::test
