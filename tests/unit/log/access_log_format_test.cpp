// Access log lines field by field: the exact combined and JSON lines, their order, dashes and nulls, bounds and time.
#include <gatehouse/log/access_log.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;

namespace {

/// A request a node answered, every field set (26/Nov/2025:21:00:00 UTC).
log::access_record proxied_record() {
    log::access_record r;
    r.client_ip = "203.0.113.9";
    r.peer_ip = "10.0.0.1";
    r.method = "POST";
    r.target = "/api/users:create";
    r.http_version = 11;
    r.status = 201;
    r.body_bytes_sent = 1234;
    r.referer = "https://app.example/admin";
    r.user_agent = "Mozilla/5.0 (X11)";
    r.request_id = "7f3a-01";
    r.node = "node2";
    r.upstream_status = 201;
    r.upstream_time = 0.0126;
    r.request_time = 0.0131;
    r.unix_ms = 1'764'190'800'123;
    return r;
}

std::string combined(const log::access_record& r) {
    std::string out;
    log::format_combined(out, r);
    return out;
}

std::string json(const log::access_record& r) {
    std::string out;
    log::format_json(out, r);
    return out;
}

}  // namespace

// Every field in Nginx's combined order, then gatehouse's keys in a fixed order; seconds with 3 decimals.
TEST(AccessLogFormat, CombinedLineHasEveryFieldInOrder) {
    EXPECT_EQ(combined(proxied_record()),
              "203.0.113.9 - - [26/Nov/2025:21:00:00 +0000] \"POST /api/users:create HTTP/1.1\" 201 1234 "
              "\"https://app.example/admin\" \"Mozilla/5.0 (X11)\" node=node2 upstream_status=201 upstream_time=0.013 "
              "request_time=0.013 request_id=7f3a-01 maintenance=0 bypass=0 peer=10.0.0.1\n");
}

// The same record as one JSON object with its keys in a fixed order, numbers unquoted.
TEST(AccessLogFormat, JsonLineHasEveryFieldInOrder) {
    EXPECT_EQ(json(proxied_record()),
              "{\"time\":\"26/Nov/2025:21:00:00 +0000\",\"remote_addr\":\"203.0.113.9\","
              "\"request\":\"POST /api/users:create HTTP/1.1\",\"method\":\"POST\",\"uri\":\"/api/users:create\","
              "\"status\":201,\"body_bytes_sent\":1234,\"http_referer\":\"https://app.example/admin\","
              "\"http_user_agent\":\"Mozilla/5.0 (X11)\",\"node\":\"node2\",\"upstream_status\":201,"
              "\"upstream_time\":0.013,\"request_time\":0.013,\"request_id\":\"7f3a-01\",\"maintenance\":false,"
              "\"bypass\":false,\"peer_addr\":\"10.0.0.1\"}\n");
}

// An answer gatehouse gave itself in maintenance, to a bypassing HTTP/1.0 client: no node, dashes in combined,
// nulls and empty strings in JSON, both flags set.
TEST(AccessLogFormat, OwnAnswerShowsDashesNullsAndFlags) {
    log::access_record r;
    r.client_ip = "198.51.100.7";
    r.peer_ip = "198.51.100.7";
    r.method = "GET";
    r.target = "/";
    r.http_version = 10;
    r.status = 503;
    r.body_bytes_sent = 0;
    r.request_time = 0;
    r.maintenance = true;
    r.bypass = true;
    r.unix_ms = 951'782'400'000;  // 29/Feb/2000
    EXPECT_EQ(combined(r),
              "198.51.100.7 - - [29/Feb/2000:00:00:00 +0000] \"GET / HTTP/1.0\" 503 0 \"-\" \"-\" node=- "
              "upstream_status=- upstream_time=- request_time=0.000 request_id=- maintenance=1 bypass=1 "
              "peer=198.51.100.7\n");
    EXPECT_EQ(json(r),
              "{\"time\":\"29/Feb/2000:00:00:00 +0000\",\"remote_addr\":\"198.51.100.7\",\"request\":\"GET / HTTP/1.0\","
              "\"method\":\"GET\",\"uri\":\"/\",\"status\":503,\"body_bytes_sent\":0,\"http_referer\":\"\","
              "\"http_user_agent\":\"\",\"node\":\"\",\"upstream_status\":null,\"upstream_time\":null,"
              "\"request_time\":0.000,\"request_id\":\"\",\"maintenance\":true,\"bypass\":true,"
              "\"peer_addr\":\"198.51.100.7\"}\n");
}

// A request whose line could not be read (no method) logs the request as "-" in both formats, like Nginx.
TEST(AccessLogFormat, UnreadRequestLineIsADash) {
    log::access_record r;
    r.client_ip = "192.0.2.1";
    r.peer_ip = "192.0.2.1";
    r.target = "/ignored";
    r.status = 400;
    r.unix_ms = 0;
    const auto line = combined(r);
    EXPECT_EQ(line.substr(0, line.find(" node=")),
              "192.0.2.1 - - [01/Jan/1970:00:00:00 +0000] \"-\" 400 0 \"-\" \"-\"");
    boost::json::error_code ec;
    const auto v = boost::json::parse(json(r), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(v.as_object().at("request").as_string(), "-");
    EXPECT_EQ(v.as_object().at("method").as_string(), "");
    EXPECT_EQ(v.as_object().at("status").as_int64(), 400);
}

// Outside quotes a space is escaped (\x20), so a value cannot start another key; inside quotes it stays a space.
TEST(AccessLogFormat, SpaceIsEscapedOnlyOutsideQuotes) {
    auto r = proxied_record();
    r.client_ip = "a b";
    r.request_id = "x upstream_status=999";
    r.user_agent = "a b";
    const auto line = combined(r);
    EXPECT_EQ(line.rfind("a\\x20b - - [", 0), 0u) << line;
    EXPECT_NE(line.find(" request_id=x\\x20upstream_status=999 "), std::string::npos) << line;
    EXPECT_NE(line.find(" \"a b\" node="), std::string::npos) << line;
    EXPECT_EQ(line.find(" upstream_status=999"), std::string::npos) << line;
}

// A field of exactly max_logged_field bytes is written whole; one byte more is cut to the bound and marked "...".
TEST(AccessLogFormat, FieldsAreCutJustPastTheirBound) {
    const std::string exact(log::max_logged_field, 'u');
    const std::string over = exact + "v";
    auto r = proxied_record();
    r.user_agent = exact;
    EXPECT_NE(combined(r).find("\"" + exact + "\" node="), std::string::npos);
    EXPECT_NE(json(r).find("\"http_user_agent\":\"" + exact + "\","), std::string::npos);
    r.user_agent = over;
    EXPECT_NE(combined(r).find("\"" + exact + "...\" node="), std::string::npos);
    EXPECT_NE(json(r).find("\"http_user_agent\":\"" + exact + "...\","), std::string::npos);

    const std::string target(log::max_logged_target, 't');
    r.target = target;
    EXPECT_NE(combined(r).find(" " + target + " HTTP/1.1\""), std::string::npos);
    const std::string longer = target + "/more";  // the record holds views: the string must outlive it
    r.target = longer;
    EXPECT_NE(combined(r).find(" " + target + "... HTTP/1.1\""), std::string::npos);
}

// The cut comes before escaping: a bound of hostile bytes is max_logged_field bytes of input, each escaped.
TEST(AccessLogFormat, CutCountsInputBytesNotEscapes) {
    auto r = proxied_record();
    const std::string quotes(log::max_logged_field + 10, '"');
    r.referer = quotes;
    std::string escaped;
    for (std::size_t i = 0; i < log::max_logged_field; ++i) escaped += "\\x22";
    EXPECT_NE(combined(r).find(" \"" + escaped + "...\" \"Mozilla"), std::string::npos);
    std::string json_escaped;
    for (std::size_t i = 0; i < log::max_logged_field; ++i) json_escaped += "\\\"";
    EXPECT_NE(json(r).find("\"http_referer\":\"" + json_escaped + "...\","), std::string::npos);
}

// Both formats append to what the buffer holds (a worker batches lines) and never touch it.
TEST(AccessLogFormat, LinesAreAppended) {
    std::string out = "earlier line\n";
    log::format_combined(out, proxied_record());
    log::format_json(out, proxied_record());
    EXPECT_EQ(out, "earlier line\n" + combined(proxied_record()) + json(proxied_record()));
}

// The time stamp is cached per second: a new second, then an older one, each shows its own time, milliseconds
// ignored.
TEST(AccessLogFormat, TimeFollowsEachRecordsSecond) {
    auto r = proxied_record();
    const auto time_of = [&](std::int64_t ms) {
        r.unix_ms = ms;
        const auto line = combined(r);
        const auto open = line.find('[');
        return line.substr(open + 1, line.find(']') - open - 1);
    };
    EXPECT_EQ(time_of(1'764'190'800'000), "26/Nov/2025:21:00:00 +0000");
    EXPECT_EQ(time_of(1'764'190'800'999), "26/Nov/2025:21:00:00 +0000");
    EXPECT_EQ(time_of(1'764'190'801'000), "26/Nov/2025:21:00:01 +0000");
    EXPECT_EQ(time_of(951'782'400'000), "29/Feb/2000:00:00:00 +0000");
    r.unix_ms = 1'764'190'861'500;
    EXPECT_EQ(json(r).rfind("{\"time\":\"26/Nov/2025:21:01:01 +0000\",", 0), 0u);
}

// Seconds are rounded to milliseconds; an upstream time of exactly 0 is shown (0 means "answered at once", only
// a negative time means "no node").
TEST(AccessLogFormat, SecondsHaveThreeDecimals) {
    auto r = proxied_record();
    r.upstream_time = 0;
    r.request_time = 61.23456;
    const auto line = combined(r);
    EXPECT_NE(line.find(" upstream_time=0.000 request_time=61.235 "), std::string::npos) << line;
    const auto j = json(r);
    EXPECT_NE(j.find("\"upstream_time\":0.000,\"request_time\":61.235,"), std::string::npos) << j;
}
