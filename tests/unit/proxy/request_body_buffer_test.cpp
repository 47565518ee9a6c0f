// request_body_buffer: memory up to the limit, then an unlinked temporary file; read back in pieces; size limit.
#include <gatehouse/proxy/request_body_buffer.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace gatehouse::proxy {
namespace {

std::string body_bytes(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
    return s;
}

/// Reads the whole buffer back in pieces of `piece` bytes.
std::string read_back(const request_body_buffer& b, std::size_t piece) {
    std::string out, chunk(piece, '\0');
    for (std::uint64_t off = 0;;) {
        std::size_t got = 0;
        EXPECT_EQ(b.read(off, chunk.data(), piece, got), body_buffer_error::none);
        if (got == 0) break;
        out.append(chunk.data(), got);
        off += got;
    }
    return out;
}

class RequestBodyBuffer : public ::testing::Test {
protected:
    void SetUp() override {
        std::string templ = "/tmp/gatehouse-bodybuf-XXXXXX";
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::size_t files_in_dir() const {
        return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir_), {}));
    }
    std::string dir_;
};

TEST_F(RequestBodyBuffer, SmallBodyStaysInMemory) {
    request_body_buffer b(1024, dir_, 0);
    const auto data = body_bytes(1000);
    EXPECT_EQ(b.append(data.data(), 600), body_buffer_error::none);
    EXPECT_EQ(b.append(data.data() + 600, 400), body_buffer_error::none);
    EXPECT_FALSE(b.in_file());
    EXPECT_EQ(b.size(), 1000u);
    EXPECT_EQ(b.memory(), data);
    EXPECT_EQ(read_back(b, 333), data);
}

TEST_F(RequestBodyBuffer, BodyPastTheMemoryLimitMovesToAnUnlinkedFile) {
    request_body_buffer b(4096, dir_, 0);
    const auto data = body_bytes(300 * 1024 + 17);
    for (std::size_t off = 0; off < data.size(); off += 1000)
        ASSERT_EQ(b.append(data.data() + off, std::min<std::size_t>(1000, data.size() - off)), body_buffer_error::none);
    EXPECT_TRUE(b.in_file());
    EXPECT_TRUE(b.memory().empty());  // the memory part went to the file
    EXPECT_EQ(b.size(), data.size());
    EXPECT_EQ(files_in_dir(), 0u);  // unlinked at once: nothing to clean up, even after a crash
    EXPECT_EQ(read_back(b, 64 * 1024), data);
    EXPECT_EQ(read_back(b, 777), data);  // read again (a retry), in other pieces
}

TEST_F(RequestBodyBuffer, ReadPastTheEndGivesNothing) {
    request_body_buffer b(16, dir_, 0);
    const auto data = body_bytes(40);
    ASSERT_EQ(b.append(data.data(), data.size()), body_buffer_error::none);
    char out[8];
    std::size_t got = 99;
    EXPECT_EQ(b.read(40, out, sizeof out, got), body_buffer_error::none);
    EXPECT_EQ(got, 0u);
    EXPECT_EQ(b.read(36, out, sizeof out, got), body_buffer_error::none);
    EXPECT_EQ(std::string(out, got), data.substr(36));
}

TEST_F(RequestBodyBuffer, BodyPastTheSizeLimitIsRefused) {
    request_body_buffer b(16, dir_, 100);
    const auto data = body_bytes(101);
    EXPECT_EQ(b.append(data.data(), 60), body_buffer_error::none);
    EXPECT_EQ(b.append(data.data() + 60, 40), body_buffer_error::none);  // exactly the limit is fine
    EXPECT_EQ(b.append(data.data() + 100, 1), body_buffer_error::too_large);
    EXPECT_EQ(b.size(), 100u);
}

TEST_F(RequestBodyBuffer, FileIsClosedWhenTheBufferGoes) {
    const auto fds_open = [] {
        return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"), {}));
    };
    const auto before = fds_open();
    {
        request_body_buffer b(0, dir_, 0);
        const auto data = body_bytes(10);
        ASSERT_EQ(b.append(data.data(), data.size()), body_buffer_error::none);
        EXPECT_TRUE(b.in_file());
        EXPECT_EQ(fds_open(), before + 1);
    }
    EXPECT_EQ(fds_open(), before);
}

TEST_F(RequestBodyBuffer, MissingDirectoryIsAFileCreateError) {
    request_body_buffer b(4, dir_ + "/missing", 0);
    const auto data = body_bytes(10);
    EXPECT_EQ(b.append(data.data(), 4), body_buffer_error::none);
    EXPECT_EQ(b.append(data.data() + 4, 6), body_buffer_error::file_create);
}

TEST_F(RequestBodyBuffer, TempFileHelperGivesAPrivateUnlinkedFile) {
    const int fd = open_unlinked_temp_file(dir_);
    ASSERT_GE(fd, 0);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_nlink, 0u);
    EXPECT_EQ(files_in_dir(), 0u);
    ::close(fd);
}

TEST(ReframeChunkedHead, ChunkedHeadStatesTheLengthInstead) {
    std::string head = "POST /x HTTP/1.1\r\nHost: a\r\nX-Request-Id: r\r\nTransfer-Encoding: chunked\r\n\r\n";
    EXPECT_TRUE(reframe_chunked_head(head, 12345));
    EXPECT_EQ(head, "POST /x HTTP/1.1\r\nHost: a\r\nX-Request-Id: r\r\nContent-Length: 12345\r\n\r\n");
}

TEST(ReframeChunkedHead, OtherHeadsAreLeftAlone) {
    std::string head = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    const auto before = head;
    EXPECT_FALSE(reframe_chunked_head(head, 7));
    EXPECT_EQ(head, before);
}

}  // namespace
}  // namespace gatehouse::proxy
