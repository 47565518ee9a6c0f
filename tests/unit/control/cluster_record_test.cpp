// The shared state's record: round trip, refusal of foreign values, and the last-write-wins order.
#include <gatehouse/control/cluster_record.hpp>

#include <gtest/gtest.h>

using namespace gatehouse::control;

TEST(ClusterRecord, RoundTripsStateWriterAndTime) {
    cluster_record r;
    r.state.maintenance = {true, "upgrade to 2.2", 1700000000000, "node2"};
    r.state.pinned_node = "node1";
    r.state.nodes["node3"] = node_admin::draining;
    r.stamp = {"edge-a:8080", 1700000000123};
    std::string error;
    const auto back = decode_record(encode(r), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->state, r.state);
    EXPECT_EQ(back->stamp, r.stamp);
}

TEST(ClusterRecord, ForeignValuesAreRefusedWithAReason) {
    for (const char* text : {"", "42", "{\"state\":{}}", "{\"writer\":1,\"written_unix_ms\":1,\"state\":{}}",
                             "{\"writer\":\"a\",\"written_unix_ms\":1,\"state\":{\"maintenance\":{\"enabled\":3}}}"}) {
        std::string error;
        EXPECT_FALSE(decode_record(text, error)) << text;
        EXPECT_FALSE(error.empty()) << text;
    }
}

TEST(ClusterRecord, LaterTimeWinsAndATieGoesToTheGreaterWriterName) {
    EXPECT_TRUE(later({"a", 2}, {"b", 1}));
    EXPECT_FALSE(later({"b", 1}, {"a", 2}));
    EXPECT_TRUE(later({"b", 5}, {"a", 5}));
    EXPECT_FALSE(later({"a", 5}, {"b", 5}));
    EXPECT_FALSE(later({"a", 5}, {"a", 5}));  // the same write is not later than itself
    EXPECT_TRUE(later({"a", 1}, {}));         // any write beats "never written"
}
