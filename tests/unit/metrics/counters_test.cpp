// The reason labels of gatehouse's own answers, mapped from their status in one place.
#include <gatehouse/metrics/counters.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse::metrics;

// Each own answer's status maps to one reason label; a 500 is "internal", never "bad_request".
TEST(OwnReason, MapsEveryStatusToItsLabel) {
    EXPECT_EQ(own_reason_of_status(408), own_reason::timeout);
    EXPECT_EQ(own_reason_of_status(504), own_reason::timeout);
    EXPECT_EQ(own_reason_of_status(413), own_reason::too_large);
    EXPECT_EQ(own_reason_of_status(502), own_reason::bad_gateway);
    EXPECT_EQ(own_reason_of_status(503), own_reason::no_node);
    EXPECT_EQ(own_reason_of_status(500), own_reason::internal);
    for (const unsigned s : {400u, 405u, 414u, 417u, 431u}) EXPECT_EQ(own_reason_of_status(s), own_reason::bad_request) << s;
    EXPECT_EQ(std::string(to_string(own_reason::internal)), "internal");
}
