// next_tls_piece: which bytes one SSL_write takes from a buffer sequence (gathered up to a record, or as they are).
#include <gatehouse/proxy/tls_write.hpp>

#include <gtest/gtest.h>

#include <array>
#include <string>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

std::string text_of(net::const_buffer b) { return {static_cast<const char*>(b.data()), b.size()}; }

TEST(NextTlsPiece, GathersSmallBuffersSkippingEmptyOnes) {
    std::string scratch;
    const std::array<net::const_buffer, 4> seq{net::const_buffer(), net::buffer("head;", 5), net::const_buffer(),
                                               net::buffer("body", 4)};
    const net::const_buffer piece = next_tls_piece(seq, scratch);
    EXPECT_EQ(text_of(piece), "head;body");
    EXPECT_EQ(piece.data(), scratch.data());
}

TEST(NextTlsPiece, TakesALoneOrLargeBufferAsItIs) {
    std::string scratch;
    const std::string big(tls_record_payload, 'b');
    const std::array<net::const_buffer, 2> lone{net::buffer("only", 4), net::const_buffer()};
    EXPECT_EQ(next_tls_piece(lone, scratch).data(), lone[0].data());  // nothing follows: no copy
    const std::array<net::const_buffer, 2> large{net::buffer(big), net::buffer("tail", 4)};
    EXPECT_EQ(next_tls_piece(large, scratch).data(), big.data());  // a record's worth already
    EXPECT_EQ(next_tls_piece(large, scratch).size(), big.size());
    const std::array<net::const_buffer, 2> none{net::const_buffer(), net::const_buffer()};
    EXPECT_EQ(next_tls_piece(none, scratch).size(), 0u);
}

TEST(NextTlsPiece, GathersAtMostOneRecord) {
    std::string scratch;
    const std::string head(300, 'h'), body(40000, 'x');
    const std::array<net::const_buffer, 2> seq{net::buffer(head), net::buffer(body)};
    const net::const_buffer piece = next_tls_piece(seq, scratch);
    ASSERT_EQ(piece.size(), tls_record_payload);
    EXPECT_EQ(text_of(piece), head + body.substr(0, tls_record_payload - head.size()));
}

}  // namespace
