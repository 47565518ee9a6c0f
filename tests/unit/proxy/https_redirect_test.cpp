// proxy.redirect_https's Location: the Host's name with the TLS port (none for 443), the target kept.
#include <gatehouse/proxy/https_redirect.hpp>

#include <gtest/gtest.h>

using gatehouse::proxy::https_location;

TEST(HttpsLocation, KeepsHostAndTargetAndUsesTheTlsPort) {
    EXPECT_EQ(https_location("shop.test", "/a/b?x=1&y=2", 443), "https://shop.test/a/b?x=1&y=2");
    EXPECT_EQ(https_location("shop.test:8080", "/a", 8443), "https://shop.test:8443/a");
    EXPECT_EQ(https_location("shop.test:80", "/", 443), "https://shop.test/");
    EXPECT_EQ(https_location("10.0.0.1", "/x", 443), "https://10.0.0.1/x");
    EXPECT_EQ(https_location("[::1]:8080", "/x", 8443), "https://[::1]:8443/x");
    EXPECT_EQ(https_location("[2001:db8::1]", "/", 443), "https://[2001:db8::1]/");
}

TEST(HttpsLocation, NonOriginTargetsGoToTheRoot) {
    EXPECT_EQ(https_location("shop.test", "*", 443), "https://shop.test/");
    EXPECT_EQ(https_location("shop.test", "http://other.test/x", 443), "https://shop.test/");
}

TEST(HttpsLocation, RefusesAMissingOrMalformedHost) {
    EXPECT_EQ(https_location("", "/", 443), std::nullopt);
    EXPECT_EQ(https_location(":8080", "/", 443), std::nullopt);
    EXPECT_EQ(https_location("a b", "/", 443), std::nullopt);
    EXPECT_EQ(https_location("evil.test/path", "/", 443), std::nullopt);
    EXPECT_EQ(https_location("evil.test@x", "/", 443), std::nullopt);
    EXPECT_EQ(https_location("shop.test:80x", "/", 443), std::nullopt);
    EXPECT_EQ(https_location("[::1", "/", 443), std::nullopt);
    EXPECT_EQ(https_location("[]", "/", 443), std::nullopt);
    EXPECT_EQ(https_location("[a:b]z", "/", 443), std::nullopt);
}
