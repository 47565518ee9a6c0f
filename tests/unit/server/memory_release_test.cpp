// When a worker gives memory back (a second quiet after activity), and that the release reaches the allocator.
#include <gatehouse/server/memory_release.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace gatehouse::server {
namespace {

TEST(QuietWatch, FiresOnceAfterTheQuietTicksThatFollowActivity) {
    quiet_watch watch(3);
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(watch.tick()) << "nothing happened: nothing to give back";
    watch.activity();
    EXPECT_FALSE(watch.tick());
    EXPECT_FALSE(watch.tick());
    EXPECT_TRUE(watch.tick());
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(watch.tick()) << "once per burst";
}

TEST(QuietWatch, ActivityPutsItOffWhileTheWorkGoesOn) {
    quiet_watch watch(3);
    for (int i = 0; i < 20; ++i) {
        watch.activity();
        EXPECT_FALSE(watch.tick());
        EXPECT_FALSE(watch.tick());
    }
    EXPECT_TRUE(watch.tick()) << "the third tick without activity";
}

long rss_kib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

// 64 MiB freed in 4 KiB pieces below one piece still held: glibc's malloc keeps it (it trims only the top of its
// heap); release_free_memory gives most of it back.
TEST(ReleaseFreeMemory, GivesFreedPagesBackToTheSystem) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "the sanitizer's allocator keeps freed memory in its quarantine";
#endif
    ASSERT_FALSE(allocator_is_tcmalloc()) << "the unit tests run on glibc's malloc";
    constexpr std::size_t piece = 4096, count = 64 * 256;
    std::vector<void*> pieces(count);
    for (auto& p : pieces) {
        p = std::malloc(piece);
        ASSERT_NE(p, nullptr);
        std::memset(p, 1, piece);
        asm volatile("" : : "r"(p) : "memory");  // the pages are touched: the compiler may not drop the writes
    }
    void* top = std::malloc(piece);  // keeps the freed pieces below the top of the heap
    asm volatile("" : : "r"(top) : "memory");
    for (auto* p : pieces) std::free(p);
    const long held = rss_kib();
    release_free_memory();
    const long released = rss_kib();
    std::free(top);
    ASSERT_GT(held, 0);
    EXPECT_GT(held - released, 32 * 1024) << "RSS " << held << " KiB before, " << released << " KiB after";
}

}  // namespace
}  // namespace gatehouse::server
