// gzip_encoder: round-trips through zlib's inflate, sync-flushed pieces decode as they come, small inputs get a
// small window.
#include <gatehouse/proxy/gzip_encoder.hpp>

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

using namespace gatehouse::proxy;

namespace {

/// Inflates gzip data incrementally: everything decodable so far.
class inflater {
public:
    inflater() { EXPECT_EQ(inflateInit2(&z_, 15 + 16), Z_OK); }
    ~inflater() { inflateEnd(&z_); }
    /// Feeds `in`; appends the output; false on a corrupt stream.
    bool feed(std::string_view in, std::string& out) {
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = static_cast<uInt>(in.size());
        char buf[16384];
        do {
            z_.next_out = reinterpret_cast<Bytef*>(buf);
            z_.avail_out = sizeof buf;
            const int rc = inflate(&z_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) ended_ = true;
            else if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
            out.append(buf, sizeof buf - z_.avail_out);
        } while (z_.avail_out == 0);
        return true;
    }
    bool ended() const noexcept { return ended_; }

private:
    z_stream z_{};
    bool ended_ = false;
};

std::string json_like(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; s.size() < n; ++i)
        s += "{\"id\":" + std::to_string(i) + ",\"name\":\"user" + std::to_string(i * 7919 % 1000) + "\"},";
    s.resize(n);
    return s;
}

}  // namespace

TEST(GzipEncoder, WholeInputRoundTrips) {
    const std::string input = json_like(200'000);
    gzip_encoder e(1, input.size());
    ASSERT_TRUE(e.ok());
    std::string packed;
    ASSERT_TRUE(e.compress(input, gzip_flush::finish, packed));
    EXPECT_LT(packed.size(), input.size() / 3);
    EXPECT_EQ(e.bytes_in(), input.size());
    EXPECT_EQ(e.bytes_out(), packed.size());
    inflater in;
    std::string out;
    ASSERT_TRUE(in.feed(packed, out));
    EXPECT_TRUE(in.ended());
    EXPECT_TRUE(out == input);
}

TEST(GzipEncoder, SyncFlushedPiecesDecodeAsTheyCome) {
    gzip_encoder e(6);
    inflater in;
    std::string all;
    for (int k = 0; k < 20; ++k) {
        const std::string event = "data: {\"delta\":\"piece " + std::to_string(k) + "\"}\n\n";
        std::string packed;
        ASSERT_TRUE(e.compress(event, gzip_flush::sync, packed));
        ASSERT_FALSE(packed.empty());
        std::string out;
        ASSERT_TRUE(in.feed(packed, out));
        EXPECT_EQ(out, event) << "piece " << k << " is not decodable on its own arrival";
        all += out;
    }
    std::string tail;
    ASSERT_TRUE(e.compress({}, gzip_flush::finish, tail));
    std::string out;
    ASSERT_TRUE(in.feed(tail, out));
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(in.ended());
}

TEST(GzipEncoder, NoFlushPiecesAndFinishRoundTrip) {
    const std::string input = json_like(1'000'000);
    gzip_encoder e(1);
    std::string packed;
    for (std::size_t at = 0; at < input.size(); at += 65536)
        ASSERT_TRUE(e.compress(std::string_view(input).substr(at, 65536), gzip_flush::none, packed));
    ASSERT_TRUE(e.compress({}, gzip_flush::finish, packed));
    inflater in;
    std::string out;
    ASSERT_TRUE(in.feed(packed, out));
    EXPECT_TRUE(in.ended());
    EXPECT_TRUE(out == input);
}

TEST(GzipEncoder, NothingAfterFinish) {
    gzip_encoder e(1);
    std::string packed;
    ASSERT_TRUE(e.compress("abc", gzip_flush::finish, packed));
    EXPECT_FALSE(e.compress("more", gzip_flush::sync, packed));
}

TEST(GzipEncoder, EmptyInputIsAValidEmptyStream) {
    gzip_encoder e(1, 0);
    std::string packed;
    ASSERT_TRUE(e.compress({}, gzip_flush::finish, packed));
    inflater in;
    std::string out;
    ASSERT_TRUE(in.feed(packed, out));
    EXPECT_TRUE(in.ended());
    EXPECT_TRUE(out.empty());
}

TEST(GzipEncoder, SmallInputsGetASmallWindow) {
    EXPECT_EQ(gzip_window_for(std::nullopt).window_bits, 15);
    EXPECT_EQ(gzip_window_for(std::nullopt).mem_level, 8);
    EXPECT_EQ(gzip_window_for(1'000'000).window_bits, 15);
    EXPECT_EQ(gzip_window_for(2000).window_bits, 12);
    EXPECT_EQ(gzip_window_for(2000).mem_level, 5);
    EXPECT_EQ(gzip_window_for(10).window_bits, 9);
    EXPECT_EQ(gzip_window_for(10).mem_level, 2);
    // The window still covers the input: 2000 bytes < 2^12 - 262.
    const std::string input = json_like(2000);
    gzip_encoder e(9, input.size());
    std::string packed;
    ASSERT_TRUE(e.compress(input, gzip_flush::finish, packed));
    inflater in;
    std::string out;
    ASSERT_TRUE(in.feed(packed, out));
    EXPECT_TRUE(out == input);
}
