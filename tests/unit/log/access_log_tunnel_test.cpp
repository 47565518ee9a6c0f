// The access log line of a WebSocket tunnel: status 101, its whole life, bytes each way and who closed it.
#include <gatehouse/log/access_log.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;

namespace {

/// A tunnel of 95 s that relayed 2048 bytes to the client and 512 from it, ended by the client.
log::access_record tunnel_record() {
    log::access_record r;
    r.client_ip = "203.0.113.9";
    r.peer_ip = "203.0.113.9";
    r.method = "GET";
    r.target = "/ws";
    r.status = 101;
    r.body_bytes_sent = 2048;
    r.user_agent = "Mozilla/5.0";
    r.request_id = "r1";
    r.node = "node1";
    r.upstream_status = 101;
    r.upstream_time = 0.002;
    r.request_time = 95.25;
    r.unix_ms = 1'764'190'800'123;
    r.tunnel = true;
    r.tunnel_from_client = 512;
    r.tunnel_closed_by = "client";
    return r;
}

}  // namespace

TEST(AccessLogTunnel, CombinedLineEndsWithTunnelFields) {
    std::string out;
    log::format_combined(out, tunnel_record());
    EXPECT_EQ(out,
              "203.0.113.9 - - [26/Nov/2025:21:00:00 +0000] \"GET /ws HTTP/1.1\" 101 2048 \"-\" \"Mozilla/5.0\" "
              "node=node1 upstream_status=101 upstream_time=0.002 request_time=95.250 request_id=r1 maintenance=0 "
              "bypass=0 peer=203.0.113.9 ws_from_client=512 ws_closed_by=client\n");
}

TEST(AccessLogTunnel, JsonLineHasTunnelFields) {
    std::string out;
    log::format_json(out, tunnel_record());
    const auto v = boost::json::parse(out);
    EXPECT_EQ(v.at("status").as_int64(), 101);
    EXPECT_EQ(v.at("body_bytes_sent").as_int64(), 2048);
    EXPECT_EQ(v.at("ws_from_client").as_int64(), 512);
    EXPECT_EQ(v.at("ws_closed_by").as_string(), "client");
    EXPECT_DOUBLE_EQ(v.at("request_time").as_double(), 95.25);
}

// Lines of plain requests carry none of the tunnel fields.
TEST(AccessLogTunnel, PlainLinesHaveNoTunnelFields) {
    auto r = tunnel_record();
    r.tunnel = false;
    std::string combined, json;
    log::format_combined(combined, r);
    log::format_json(json, r);
    EXPECT_EQ(combined.find("ws_"), std::string::npos) << combined;
    EXPECT_EQ(json.find("ws_"), std::string::npos) << json;
}

TEST(AccessLogTunnel, KeptStringsOutliveTheRequest) {
    log::access_record r;
    std::string kept;
    {
        std::string method = "GET", target = "/ws?token=abc", agent = "Mozilla/5.0", id = "r1", node = "node1";
        r = tunnel_record();
        r.method = method;
        r.target = target;
        r.user_agent = agent;
        r.request_id = id;
        r.node = node;
        log::keep_strings(r, kept);
        method.assign(3, 'X');  // the request's own text changes, then goes
        target.assign(13, 'X');
    }
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target, "/ws?token=abc");
    EXPECT_EQ(r.user_agent, "Mozilla/5.0");
    EXPECT_EQ(r.request_id, "r1");
    EXPECT_EQ(r.node, "node1");
    EXPECT_EQ(r.client_ip, "203.0.113.9");
    EXPECT_EQ(r.referer, "");
    EXPECT_GE(static_cast<const void*>(r.target.data()), static_cast<const void*>(kept.data()));
    EXPECT_LE(static_cast<const void*>(r.target.data() + r.target.size()),
              static_cast<const void*>(kept.data() + kept.size()));
}
