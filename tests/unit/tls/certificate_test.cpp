// Matching TLS server names against certificate DNS names (wildcards per RFC 6125), and days until expiry.
#include <gatehouse/tls/certificate.hpp>

#include <gtest/gtest.h>

using gatehouse::tls::days_left;
using gatehouse::tls::name_matches;
using namespace std::chrono_literals;

TEST(CertificateNames, ExactNamesIgnoreCaseAndATrailingDot) {
    EXPECT_TRUE(name_matches("shop.example.com", "shop.example.com"));
    EXPECT_TRUE(name_matches("shop.example.com", "SHOP.Example.com"));
    EXPECT_TRUE(name_matches("shop.example.com", "shop.example.com."));
    EXPECT_FALSE(name_matches("shop.example.com", "example.com"));
    EXPECT_FALSE(name_matches("shop.example.com", "xshop.example.com"));
    EXPECT_FALSE(name_matches("shop.example.com", ""));
}

TEST(CertificateNames, AWildcardMatchesExactlyOneLabel) {
    EXPECT_TRUE(name_matches("*.example.com", "a.example.com"));
    EXPECT_TRUE(name_matches("*.example.com", "A.EXAMPLE.COM"));
    EXPECT_FALSE(name_matches("*.example.com", "example.com"));
    EXPECT_FALSE(name_matches("*.example.com", "a.b.example.com"));
    EXPECT_FALSE(name_matches("*.example.com", ".example.com"));
    EXPECT_FALSE(name_matches("*.example.com", "a.example.org"));
}

TEST(CertificateExpiry, WholeDaysLeft) {
    const auto now = std::chrono::system_clock::now();
    EXPECT_EQ(days_left(now + 24h * 5 - 1s, now), 4);
    EXPECT_EQ(days_left(now + 24h * 14, now), 14);
    EXPECT_EQ(days_left(now - 1s, now), -1);
}
