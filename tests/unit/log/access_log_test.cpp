// Access log lines under hostile input: every client-controlled field escaped and bounded, in both formats.
#include <gatehouse/log/access_log.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

using namespace gatehouse;

namespace {

/// A record whose every client-controlled field carries `hostile`.
log::access_record hostile_record(std::string_view hostile) {
    log::access_record r;
    r.client_ip = hostile;
    r.peer_ip = "10.0.0.1";
    r.method = hostile;
    r.target = hostile;
    r.referer = hostile;
    r.user_agent = hostile;
    r.request_id = hostile;
    r.node = "node1";
    r.status = 200;
    r.unix_ms = 1'764'000'000'000;
    return r;
}

const std::string forged = "x\" 200 0 \"-\" \"-\" node=evil request_id=y maintenance=1 bypass=1\r\n"
                           "6.6.6.6 - - [01/Jan/2026:00:00:00 +0000] \"GET /forged\\\" \xc3\xa9\x01\x7f";

/// True when `line` is one line of printable ASCII ended by a single LF.
bool one_clean_line(const std::string& line) {
    if (line.empty() || line.back() != '\n') return false;
    for (std::size_t i = 0; i + 1 < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c < 0x20 || c >= 0x7f) return false;
    }
    return true;
}

}  // namespace

// Combined: quotes, backslashes, CR/LF, control and non-ASCII bytes become \xHH; in the unquoted fields (client,
// request_id) a space is escaped too, so a value can neither end its field nor start a line or another field.
TEST(AccessLog, CombinedEscapesEveryClientField) {
    std::string line;
    log::format_combined(line, hostile_record(forged));
    ASSERT_TRUE(one_clean_line(line)) << line;
    // The structure is intact: exactly the 6 quotes of the three quoted fields (inside them a space is fine, as in
    // Nginx's combined format), and after the last quote each of gatehouse's keys exactly once.
    EXPECT_EQ(std::count(line.begin(), line.end(), '"'), 6) << line;
    const auto tail = line.substr(line.rfind('"'));
    for (const char* key : {" node=", " request_id=", " maintenance=", " bypass=", " peer="}) {
        const auto first = tail.find(key);
        EXPECT_NE(first, std::string::npos) << key << "\n" << line;
        EXPECT_EQ(first, tail.rfind(key)) << key << " appears twice:\n" << line;
    }
    EXPECT_EQ(std::count(tail.begin(), tail.end(), ' '), 8) << tail;
    EXPECT_NE(line.find("\\x22"), std::string::npos);  // "
    EXPECT_NE(line.find("\\x5C"), std::string::npos);  // backslash
    EXPECT_NE(line.find("\\x0D\\x0A"), std::string::npos);
    EXPECT_NE(line.find("\\xC3\\xA9"), std::string::npos);
    EXPECT_NE(line.find("\\x01"), std::string::npos);
    EXPECT_NE(line.find("\\x7F"), std::string::npos);
    EXPECT_NE(line.find(" maintenance=0 bypass=0 peer=10.0.0.1\n"), std::string::npos) << line;
    // The unquoted leading client address has no raw space: the line starts with one field.
    EXPECT_EQ(line.find(' '), line.find(" - - [")) << line;
}

// JSON: the line parses as one object whose fields hold exactly what was logged (quotes and control bytes
// escaped, bytes >= 0x7f as \u00XX so the line stays ASCII).
TEST(AccessLog, JsonEscapesEveryClientField) {
    std::string line;
    log::format_json(line, hostile_record(forged));
    ASSERT_TRUE(one_clean_line(line)) << line;
    boost::json::error_code ec;
    const auto v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << ec.message() << "\n" << line;
    const auto& o = v.as_object();
    // Each byte >= 0x80 reads back as the code point U+00XX (two bytes of UTF-8): nothing is lost or added.
    std::string expected;
    for (unsigned char c : forged) {
        if (c < 0x80) {
            expected += static_cast<char>(c);
        } else {
            expected += static_cast<char>(0xc0 | (c >> 6));
            expected += static_cast<char>(0x80 | (c & 0x3f));
        }
    }
    for (const char* field : {"http_user_agent", "http_referer", "request_id", "remote_addr", "method", "uri"})
        EXPECT_EQ(o.at(field).as_string(), expected) << field;
    EXPECT_EQ(o.at("peer_addr").as_string(), "10.0.0.1");
    EXPECT_FALSE(o.at("maintenance").as_bool());
    EXPECT_FALSE(o.at("bypass").as_bool());
}

// A 16 KiB target (and 16 KiB in every other client field) is cut: the line stays under max_access_line in
// both formats, and the cut is marked.
TEST(AccessLog, LinesAreBounded) {
    const std::string huge(16 * 1024, '\x80');  // the worst case for escaping: 4 bytes each (6 in JSON)
    const std::string huge_target = "/" + std::string(16 * 1024, 'a');
    auto r = hostile_record(huge);
    r.target = huge_target;
    std::string combined, json;
    log::format_combined(combined, r);
    log::format_json(json, r);
    EXPECT_TRUE(one_clean_line(combined));
    EXPECT_TRUE(one_clean_line(json));
    EXPECT_LE(combined.size(), log::max_access_line) << combined.size();
    EXPECT_LE(json.size(), log::max_access_line) << json.size();
    EXPECT_NE(combined.find("/" + std::string(log::max_logged_target - 1, 'a') + "... HTTP/1.1\""), std::string::npos);
    boost::json::error_code ec;
    const auto v = boost::json::parse(json, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(v.as_object().at("uri").as_string().size(), log::max_logged_target + 3);

    // The bound holds for all-hostile fields, target included.
    r.target = huge;
    combined.clear();
    json.clear();
    log::format_combined(combined, r);
    log::format_json(json, r);
    EXPECT_LE(combined.size(), log::max_access_line) << combined.size();
    EXPECT_LE(json.size(), log::max_access_line) << json.size();
}

// An ordinary request looks like Nginx's combined line, with the resolved client first and the peer last.
TEST(AccessLog, CombinedShowsClientAndPeer) {
    log::access_record r;
    r.client_ip = "203.0.113.9";
    r.peer_ip = "10.0.0.1";
    r.method = "GET";
    r.target = "/api/users:list?page=1";
    r.status = 200;
    r.body_bytes_sent = 12;
    r.user_agent = "curl/8.0";
    r.request_id = "abc";
    r.unix_ms = 0;
    std::string line;
    log::format_combined(line, r);
    EXPECT_EQ(line,
              "203.0.113.9 - - [01/Jan/1970:00:00:00 +0000] \"GET /api/users:list?page=1 HTTP/1.1\" 200 12 \"-\" "
              "\"curl/8.0\" node=- upstream_status=- upstream_time=- request_time=0.000 request_id=abc maintenance=0 "
              "bypass=0 peer=10.0.0.1\n");
}
