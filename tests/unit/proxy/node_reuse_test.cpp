// The re-send rules: a request that may have reached a node goes again only when it is idempotent and held whole.
#include <gatehouse/proxy/node_reuse.hpp>

#include <gtest/gtest.h>

#include <limits>

using namespace gatehouse;
using namespace gatehouse::proxy;

// Only idempotent methods with a held body can be sent again.
TEST(NodeReuse, ResendableNeedsIdempotentMethodAndHeldBody) {
    for (const auto m : {http::verb::get, http::verb::head, http::verb::options, http::verb::put, http::verb::delete_})
        EXPECT_TRUE(resendable(m, true)) << http::to_string(m);
    EXPECT_FALSE(resendable(http::verb::get, false));
    for (const auto m : {http::verb::post, http::verb::patch, http::verb::lock, http::verb::unknown})
        EXPECT_FALSE(resendable(m, true)) << http::to_string(m);
}

// A request that cannot be sent twice rides only a connection that just finished an answer.
TEST(NodeReuse, SingleShotRequestsTakeOnlyRecentConnections) {
    EXPECT_EQ(reuse_window_ms(false), single_shot_reuse_ms);
    EXPECT_LT(single_shot_reuse_ms, 5000) << "must stay well below Node.js's 5 s idle close";
    EXPECT_EQ(reuse_window_ms(true), std::numeric_limits<std::int64_t>::max());
}

// Nothing written: safe to send again whatever the method (a fresh connection after a reused one failed).
TEST(NodeReuse, NothingWrittenMayGoAgain) {
    EXPECT_EQ(after_send_failed(false, true, true, 0), resend_decision::fresh_connection);
    EXPECT_EQ(after_send_failed(false, false, false, 0), resend_decision::another_node);
}

// Once a byte of a POST went out, it is never sent again.
TEST(NodeReuse, NonIdempotentNeverGoesAgainOnceBytesWereWritten) {
    EXPECT_EQ(after_send_failed(false, true, true, 1), resend_decision::never);
    EXPECT_EQ(after_send_failed(false, true, false, 4096), resend_decision::never);
    EXPECT_EQ(after_no_answer(false, true, true), resend_decision::never);
    EXPECT_EQ(after_no_answer(false, true, false), resend_decision::never);
}

// An idempotent request goes again: on a fresh connection after a reused one closed, elsewhere after a fresh one;
// never when its body was streamed and the node may have read it.
TEST(NodeReuse, IdempotentGoesAgainWhenHeld) {
    EXPECT_EQ(after_send_failed(true, true, true, 10), resend_decision::fresh_connection);
    EXPECT_EQ(after_send_failed(true, true, false, 10), resend_decision::another_node);
    EXPECT_EQ(after_no_answer(true, true, true), resend_decision::fresh_connection);
    EXPECT_EQ(after_no_answer(true, true, false), resend_decision::another_node);
    EXPECT_EQ(after_no_answer(true, false, true), resend_decision::never);
}
