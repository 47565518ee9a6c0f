// The access log sink: lines reach the file in order, SIGUSR1's reopen still works, and a destination that takes
// nothing costs dropped (counted) lines, never a writer that waits.
#include <gatehouse/log/access_log_sink.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>
#include <string>

using namespace gatehouse;

namespace {

struct temp_dir {
    std::string path;
    temp_dir() {
        std::string templ = "/tmp/gatehouse-sink-XXXXXX";
        if (::mkdtemp(templ.data())) path = templ;
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::shared_ptr<log::access_log_sink> open_sink(const std::string& path) {
    config::log_config cfg;
    cfg.access = path;
    return log::access_log_sink::open(cfg);
}

}  // namespace

TEST(AccessLogSink, LinesReachTheFileInOrder) {
    temp_dir dir;
    const std::string path = dir.path + "/access.log";
    std::string expected;
    {
        auto sink = open_sink(path);
        for (int i = 0; i < 1000; ++i) {
            const std::string line = "line " + std::to_string(i) + "\n";
            sink->write(line);
            expected += line;
        }
    }  // the sink's end writes what is queued
    EXPECT_EQ(read_file(path), expected);
}

// logrotate: the file is renamed, SIGUSR1 reopens it; later lines go to the new file.
TEST(AccessLogSink, ReopenMovesLaterLinesToTheNewFile) {
    temp_dir dir;
    const std::string path = dir.path + "/access.log";
    auto sink = open_sink(path);
    sink->write("before\n");
    // Wait until the writer thread has written it (bounded), so the rename catches it in the old file.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (read_file(path) != "before\n" && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
    EXPECT_EQ(sink->reopen(), "");
    sink->write("after\n");
    sink.reset();
    EXPECT_EQ(read_file(path + ".1"), "before\n");
    EXPECT_EQ(read_file(path), "after\n");
}

// A FIFO nobody reads: the pipe fills, the writer thread blocks on it, and write() still returns; what does not
// fit in the bounded queue is dropped and counted. A write() that waited for the destination would wait until the
// FIFO is read, which happens only after the writes returned or the generous deadline passed (no timing of the
// copies themselves: a sanitizer build is slow, a blocked write never returns).
TEST(AccessLogSink, StuckDestinationDropsLinesInsteadOfBlocking) {
    temp_dir dir;
    const std::string fifo = dir.path + "/stuck";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // lets the sink's open succeed; never read
    ASSERT_GE(reader, 0);
    auto sink = open_sink(fifo);
    const std::string chunk = std::string(1023, 'x') + "\n";  // 64 lines of 1 KiB per flush, like a worker's
    std::string flush;
    for (int i = 0; i < 64; ++i) flush += chunk;
    const auto before = log::access_lines_dropped();
    constexpr int flushes = 400;  // 25.6 MiB: more than the pipe and the queue hold
    auto writes = std::async(std::launch::async, [&] {
        for (int i = 0; i < flushes; ++i) sink->write(flush);
    });
    const bool returned = writes.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
    EXPECT_TRUE(returned) << "write() waited for the destination";
    // Unstick the writer so the sink can end: read everything it writes.
    std::thread drain([reader] {
        const int flags = ::fcntl(reader, F_GETFL);
        ::fcntl(reader, F_SETFL, flags & ~O_NONBLOCK);
        char buf[65536];
        while (::read(reader, buf, sizeof buf) > 0) {
        }
    });
    writes.get();
    if (returned) {
        const auto dropped = log::access_lines_dropped() - before;
        EXPECT_GT(dropped, 0u);
        EXPECT_LE(dropped, std::uint64_t{flushes} * 64);
        EXPECT_EQ(dropped % 64, 0u) << "whole flushes are dropped, never part of a line";
    }
    sink.reset();  // writes what is queued, then closes the FIFO: the reader sees its end
    drain.join();
    ::close(reader);
}
