// Judging a health answer (status ranges, expected body, NocoBase's 503 "maintaining") and recognising NocoBase's
// "app not running" JSON, without sockets.
#include <gatehouse/health/http_probe.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;
using health::check_result;

namespace {

/// NocoBase's answer while a command (here an upgrade) runs instead of the app.
constexpr std::string_view commanding =
    R"({"error":{"status":503,"code":"APP_COMMANDING","maintaining":true,"message":"upgrading",)"
    R"("command":{"name":"upgrade"}}})";

config::health_check_config any_body(std::vector<config::status_range> ranges) {
    config::health_check_config c;
    c.expect_status = std::move(ranges);
    c.expect_body = "";
    return c;
}

}  // namespace

// The default check: 200 with the body "ok" (surrounding spaces, tabs, CR and LF ignored) passes.
TEST(JudgeHealthAnswer, DefaultPassesOn200Ok) {
    const config::health_check_config c;
    for (const std::string_view body : {"ok", "ok\n", "  ok\r\n", "\t ok \t"}) {
        const auto o = health::judge_health_answer(200, body, c);
        EXPECT_EQ(o.result, check_result::pass) << body;
        EXPECT_EQ(o.detail, "ok");
    }
}

// The right status with another body fails and says what came and what was expected; case and inner spaces count.
TEST(JudgeHealthAnswer, WrongBodyFailsAndShowsIt) {
    const config::health_check_config c;
    auto o = health::judge_health_answer(200, " OK\n", c);
    EXPECT_EQ(o.result, check_result::fail);
    EXPECT_EQ(o.detail, "status 200 with body 'OK', expected 'ok'");
    EXPECT_EQ(health::judge_health_answer(200, "o k", c).result, check_result::fail);
    o = health::judge_health_answer(200, "", c);
    EXPECT_EQ(o.result, check_result::fail);
    EXPECT_EQ(o.detail, "status 200 with body '', expected 'ok'");
}

// A long wrong body is shown cut to its first 40 bytes (after trimming).
TEST(JudgeHealthAnswer, ShownBodyIsCutTo40Bytes) {
    const config::health_check_config c;
    const std::string body = "\n<!doctype html><html><head><title>NocoBase</title></head><body></body></html>";
    const auto o = health::judge_health_answer(200, body, c);
    EXPECT_EQ(o.result, check_result::fail);
    EXPECT_EQ(o.detail, "status 200 with body '" + body.substr(1, 40) + "', expected 'ok'");
}

// A status outside every expected range fails with just the status, whatever the body.
TEST(JudgeHealthAnswer, UnexpectedStatusFails) {
    const config::health_check_config c;
    for (const unsigned status : {199u, 201u, 204u, 301u, 404u, 500u, 502u}) {
        const auto o = health::judge_health_answer(status, "ok", c);
        EXPECT_EQ(o.result, check_result::fail) << status;
        EXPECT_EQ(o.detail, "status " + std::to_string(status));
    }
}

// Ranges are inclusive at both ends and any of them may match; with expect_body "" any body (even none) passes.
TEST(JudgeHealthAnswer, StatusRangesAreInclusiveAndAnyBodyPassesWhenNoneIsExpected) {
    const auto c = any_body({{200, 299}, {401, 401}});
    for (const unsigned status : {200u, 204u, 299u, 401u})
        EXPECT_EQ(health::judge_health_answer(status, "", c).result, check_result::pass) << status;
    for (const unsigned status : {199u, 300u, 400u, 402u})
        EXPECT_EQ(health::judge_health_answer(status, "anything", c).result, check_result::fail) << status;
    EXPECT_EQ(health::judge_health_answer(204, "whatever it says", c).detail, "ok");
}

// No expected range at all: nothing passes.
TEST(JudgeHealthAnswer, NoExpectedStatusNothingPasses) {
    const auto c = any_body({});
    EXPECT_EQ(health::judge_health_answer(200, "ok", c).result, check_result::fail);
}

// NocoBase's 503 "maintaining" means starting (not a failure), with its code, command and message as the detail.
TEST(JudgeHealthAnswer, NocoBaseMaintaining503IsStarting) {
    const config::health_check_config c;
    const auto o = health::judge_health_answer(503, commanding, c);
    EXPECT_EQ(o.result, check_result::starting);
    EXPECT_EQ(o.detail, "APP_COMMANDING upgrade: upgrading");
    const auto bare = health::judge_health_answer(503, R"({"error":{"maintaining":true,"code":"APP_STARTING"}})", c);
    EXPECT_EQ(bare.detail, "APP_STARTING");
}

// NocoBase's progress message is shown on one line and bounded.
TEST(NocoBaseMessage, OneBoundedLine) {
    EXPECT_EQ(health::nocobase_message(R"({"error":{"message":"load plugin [ai], 50/77"}})"), "load plugin [ai], 50/77");
    EXPECT_EQ(health::nocobase_message(R"({"error":{"message":"a\nb\u0007c"}})"), "a b c");
    EXPECT_EQ(health::nocobase_message(R"({"error":{"message":")" + std::string(500, 'x') + R"("}})").size(), 120u);
    EXPECT_EQ(health::nocobase_message(R"({"error":{"message":5}})"), "");
    EXPECT_EQ(health::nocobase_message("not json"), "");
}

// Only a 503 is inspected: the same JSON with another status fails, and a 503 with any other body fails.
TEST(JudgeHealthAnswer, MaintainingOnlyCountsOn503) {
    const config::health_check_config c;
    for (const unsigned status : {500u, 502u, 504u, 200u}) {
        const auto o = health::judge_health_answer(status, commanding, c);
        EXPECT_EQ(o.result, check_result::fail) << status;
    }
    for (const std::string_view body : {"", "Service Unavailable", R"({"error":{"maintaining":false}})"}) {
        const auto o = health::judge_health_answer(503, body, c);
        EXPECT_EQ(o.result, check_result::fail) << body;
        EXPECT_EQ(o.detail, "status 503");
    }
}

// The code and the command's name make the detail; without them it says "maintaining".
TEST(NocoBaseMaintaining, ReadsCodeAndCommand) {
    EXPECT_EQ(health::nocobase_maintaining(commanding), "APP_COMMANDING upgrade");
    EXPECT_EQ(health::nocobase_maintaining(R"({"error":{"code":"APP_STARTING","maintaining":true}})"), "APP_STARTING");
    EXPECT_EQ(health::nocobase_maintaining(R"({"error":{"maintaining":true}})"), "maintaining");
    EXPECT_EQ(health::nocobase_maintaining(R"({"error":{"maintaining":true,"command":{"name":"restart"}}})"),
              "maintaining restart");
    // Key order and whitespace do not matter (it is parsed, not matched).
    EXPECT_EQ(health::nocobase_maintaining(" {\n \"error\" : { \"command\":{\"name\":\"pm\"}, \"maintaining\" : true,"
                                           " \"code\":\"APP_COMMANDING\" } }\n"),
              "APP_COMMANDING pm");
}

// Code and command of the wrong type are left out rather than guessed.
TEST(NocoBaseMaintaining, IgnoresFieldsOfTheWrongType) {
    EXPECT_EQ(health::nocobase_maintaining(R"({"error":{"maintaining":true,"code":503}})"), "maintaining");
    EXPECT_EQ(health::nocobase_maintaining(R"({"error":{"maintaining":true,"code":"X","command":"upgrade"}})"), "X");
    EXPECT_EQ(health::nocobase_maintaining(R"({"error":{"maintaining":true,"code":"X","command":{"name":1}}})"), "X");
    EXPECT_EQ(health::nocobase_maintaining(R"({"error":{"maintaining":true,"code":"X","command":{}}})"), "X");
}

// Anything that is not an object with error.maintaining == true (the boolean) is not NocoBase maintaining.
TEST(NocoBaseMaintaining, RejectsEverythingElse) {
    for (const std::string_view body : {
             "",
             "ok",
             "<html>503 Service Unavailable</html>",
             R"({"error":{"code":"APP_COMMANDING","maintaining":true)",  // cut short
             R"([{"error":{"maintaining":true}}])",
             R"({"maintaining":true,"code":"APP_COMMANDING"})",
             R"({"error":"maintaining"})",
             R"({"error":[{"maintaining":true}]})",
             R"({"error":{"code":"APP_ERROR"}})",
             R"({"error":{"maintaining":false,"code":"APP_COMMANDING"}})",
             R"({"error":{"maintaining":"true","code":"APP_COMMANDING"}})",
             R"({"error":{"maintaining":1,"code":"APP_COMMANDING"}})",
             R"({"error":{"maintaining":null}})",
             R"({"errors":[{"message":"maintaining"}]})",
         })
        EXPECT_EQ(health::nocobase_maintaining(body), "") << body;
}
