// client_limiter: connections per client address, given back when a slot goes; threads share one count.
#include <gatehouse/server/client_limiter.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace gatehouse::server {
namespace {

TEST(ClientLimiter, RefusesTheConnectionPastTheCapUntilOneCloses) {
    client_limiter limiter;
    auto a = limiter.acquire("10.0.0.1", 2);
    auto b = limiter.acquire("10.0.0.1", 2);
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(limiter.acquire("10.0.0.1", 2));  // the third
    EXPECT_TRUE(limiter.acquire("10.0.0.2", 2));   // another address has its own count
    EXPECT_EQ(limiter.count("10.0.0.1"), 2u);
    a.reset();                                       // one closes
    EXPECT_EQ(limiter.count("10.0.0.1"), 1u);
    auto c = limiter.acquire("10.0.0.1", 2);
    EXPECT_TRUE(c);
    EXPECT_EQ(limiter.count("10.0.0.1"), 2u);
}

TEST(ClientLimiter, ZeroCapCountsNothing) {
    client_limiter limiter;
    std::vector<client_limiter::slot> slots;
    for (int i = 0; i < 100; ++i) {
        auto s = limiter.acquire("10.0.0.1", 0);
        ASSERT_TRUE(s);
        EXPECT_FALSE(s->counted());
        slots.push_back(std::move(*s));
    }
    EXPECT_EQ(limiter.addresses(), 0u);
}

TEST(ClientLimiter, AddressesWithoutConnectionsAreForgotten) {
    client_limiter limiter;
    {
        auto a = limiter.acquire("10.0.0.1", 5);
        auto b = limiter.acquire("10.0.0.2", 5);
        EXPECT_EQ(limiter.addresses(), 2u);
        client_limiter::slot moved = std::move(*a);  // a moved slot is given back once, by its new owner
        a.reset();
        EXPECT_EQ(limiter.count("10.0.0.1"), 1u);
    }
    EXPECT_EQ(limiter.addresses(), 0u);
    EXPECT_EQ(limiter.count("10.0.0.1"), 0u);
}

TEST(ClientLimiter, ThreadsShareOneCount) {
    client_limiter limiter;
    constexpr int threads = 4, rounds = 2000;
    std::vector<std::thread> pool;
    std::atomic<int> refused{0};
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < rounds; ++i) {
                auto s = limiter.acquire("10.0.0.9", 3);
                if (!s) ++refused;
            }
        });
    for (auto& t : pool) t.join();
    EXPECT_EQ(limiter.count("10.0.0.9"), 0u);  // every slot was given back
    EXPECT_EQ(limiter.addresses(), 0u);
    // Holding 3 from one thread: the others are all refused.
    auto a = limiter.acquire("10.0.0.9", 3), b = limiter.acquire("10.0.0.9", 3), c = limiter.acquire("10.0.0.9", 3);
    std::thread other([&] { EXPECT_FALSE(limiter.acquire("10.0.0.9", 3)); });
    other.join();
}

}  // namespace
}  // namespace gatehouse::server
