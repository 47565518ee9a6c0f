// Expect: 100-continue is answered by gatehouse before the client sends its body.
#include "harness.hpp"

namespace gatehouse::test {
namespace {

class ExpectContinue : public GatehouseTest {};

void expect_continue_round_trip(std::uint16_t port, test_upstream& node, std::size_t body_size) {
    const std::string body = pattern(7, body_size);
    client_connection c(port, 3s);  // no 100 within 3 s fails the test
    c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body_size) +
           "\r\nExpect: 100-continue\r\n\r\n");
    const auto interim = c.read_response();
    ASSERT_EQ(interim.status, 100u) << interim.raw;
    EXPECT_EQ(interim.raw, "HTTP/1.1 100 Continue\r\n\r\n");
    c.set_timeout(10s);
    c.send(body);
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw.substr(0, 500);
    EXPECT_TRUE(r.body == body) << "echoed body differs (" << r.body.size() << " bytes)";
    EXPECT_TRUE(head_fields(node.last_head(), "Expect").empty()) << node.last_head();
}

// A small body (held whole by gatehouse): 100 Continue arrives before the body is sent, then the node's 200.
TEST_F(ExpectContinue, SmallBodyGets100ContinueBeforeBodyThen200) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    expect_continue_round_trip(gh.port(), node, 11);
}

// A large body (streamed to the node): 100 Continue arrives before the body is sent, then the node's 200.
TEST_F(ExpectContinue, LargeBodyGets100ContinueBeforeBodyThen200) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    expect_continue_round_trip(gh.port(), node, 300'000);
}

}  // namespace
}  // namespace gatehouse::test
