// Basic proxying: requests reach the node unchanged and its answers come back unchanged.
#include "harness.hpp"

namespace gatehouse::test {
namespace {

class Proxying : public GatehouseTest {};

// A plain GET / reaches the node and its 200 answer, X-Node included, comes back.
TEST_F(Proxying, GetRootAnswers200WithNodeHeader) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const auto r = get(gh.port(), "/");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("X-Node"), "alpha");
    EXPECT_EQ(r.body, "node=alpha");
    EXPECT_EQ(node.requests(), 1u);
}

// Host, a target with sub-paths, ':' inside segments and the query arrive at the node byte for byte.
TEST_F(Proxying, HostTargetAndQueryArriveUnchanged) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());

    const std::string target = "/headers/api/v1/users:list/sub:path/x?page=1&x=a:b&f%5Bn%5D=%E2%9C%93&empty=&q=a/b";
    c.send("GET " + target + " HTTP/1.1\r\nHost: app.example.test:8443\r\n\r\n");
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(first_line(r.body), "GET " + target + " HTTP/1.1");
    EXPECT_EQ(head_fields(r.body, "Host"), std::vector<std::string>{"app.example.test:8443"});

    c.send("GET /api/users:list?page=1&x=a:b HTTP/1.1\r\nHost: app.example.test\r\n\r\n");
    r = c.read_response();
    ASSERT_EQ(r.status, 200u) << r.raw;
    const auto head = node.last_head();
    EXPECT_EQ(first_line(head), "GET /api/users:list?page=1&x=a:b HTTP/1.1");
    EXPECT_EQ(head_fields(head, "Host"), std::vector<std::string>{"app.example.test"});
}

// The method and a small body reach the node unchanged for the usual methods.
TEST_F(Proxying, MethodsAndBodiesArriveUnchanged) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    client_connection c(gh.port());
    for (const std::string method : {"POST", "PUT", "PATCH", "DELETE"}) {
        SCOPED_TRACE(method);
        const std::string body = "{\"method\":\"" + method + "\",\"n\":[1,2,3]}";
        c.send(method + " /echo?m=" + method + " HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
        const auto r = c.read_response();
        EXPECT_EQ(r.status, 200u) << r.raw;
        EXPECT_EQ(r.body, body);
        EXPECT_EQ(first_line(node.last_head()), method + " /echo?m=" + method + " HTTP/1.1");
    }
    c.send("OPTIONS /headers HTTP/1.1\r\nHost: h\r\n\r\n");
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(first_line(r.body), "OPTIONS /headers HTTP/1.1");
}

// End-to-end request headers reach the node unchanged, and end-to-end response headers reach the client unchanged.
TEST_F(Proxying, EndToEndHeadersPassUnchangedBothWays) {
    auto& node = add_upstream("alpha");
    auto& gh = start_gatehouse();
    const std::vector<std::string> sent = {
        "Authorization: Bearer abc.def-ghi",
        "Cookie: s=1; t=2",
        "Accept: text/html, */*;q=0.8",
        "Accept-Language: de-CH, en;q=0.5",
        "User-Agent: itest/1.0 (x; y)",
        "X-Custom: a, b;c=\"d:e\"",
        "X-Reflect-Token: tok  en:42",
        "x-lower-case: MixedValue",
    };
    std::string extra;
    for (const auto& line : sent) extra += line + "\r\n";
    const auto r = get(gh.port(), "/reflect", extra);
    ASSERT_EQ(r.status, 200u) << r.raw;

    const auto head = node.last_head();
    for (const auto& line : sent) EXPECT_NE(head.find("\r\n" + line + "\r\n"), std::string::npos) << line << "\n" << head;

    EXPECT_EQ(r.header("X-Node"), "alpha");
    EXPECT_EQ(r.header("X-Reflect-Token"), "tok  en:42");
    EXPECT_EQ(r.header("Content-Type"), "text/plain");
    EXPECT_EQ(r.header("Cache-Control"), "no-cache, private");
    EXPECT_EQ(r.header("X-Upstream-Custom"), "v1,  v2 ;q=\"x:y\"");
    ASSERT_EQ(r.count("Set-Cookie"), 2u) << r.raw;
    const auto response_head = r.raw_head();
    EXPECT_NE(response_head.find("\r\nSet-Cookie: a=1; Path=/\r\n"), std::string::npos) << response_head;
    EXPECT_NE(response_head.find("\r\nSet-Cookie: b=2; HttpOnly\r\n"), std::string::npos) << response_head;
    EXPECT_EQ(r.body, "reflect");
}

}  // namespace
}  // namespace gatehouse::test
