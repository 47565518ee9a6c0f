// Writing a buffer sequence to the TLS client stream as few TLS records as possible (head and body in one record).
#pragma once

#include <gatehouse/net.hpp>
#include <gatehouse/proxy/tls_stream.hpp>

#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include <algorithm>
#include <iterator>
#include <string>
#include <tuple>

namespace gatehouse::proxy {

/// The most plaintext one TLS record carries (2^14 bytes).
inline constexpr std::size_t tls_record_payload = 16384;

/// What one SSL_write of `rest` takes: its first non-empty buffer as it is when that holds a record or more, or
/// when nothing follows it; otherwise the sequence's first bytes, up to one record's worth, copied into `scratch`
/// (each SSL_write makes at least one record: writing a response's head and body pieces one by one would make a
/// record, and a send, for each). An empty buffer when `rest` holds no byte.
template <class ConstBufferSequence>
net::const_buffer next_tls_piece(const ConstBufferSequence& rest, std::string& scratch) {
    auto it = net::buffer_sequence_begin(rest);
    const auto end = net::buffer_sequence_end(rest);
    while (it != end && net::const_buffer(*it).size() == 0) ++it;
    if (it == end) return {};
    const net::const_buffer first(*it);
    const bool more = std::any_of(std::next(it), end, [](const auto& b) { return net::const_buffer(b).size() > 0; });
    if (first.size() >= tls_record_payload || !more) return first;
    scratch.clear();
    for (; it != end && scratch.size() < tls_record_payload; ++it) {
        const net::const_buffer b(*it);
        scratch.append(static_cast<const char*>(b.data()), std::min(b.size(), tls_record_payload - scratch.size()));
    }
    return net::buffer(scratch);
}

/// The gathering buffer of this thread (at most one record; one for every sequence type, hence not in the template).
inline std::string& tls_write_scratch() {
    static thread_local std::string scratch;
    return scratch;
}

/// Writes all of `buffers` to the TLS client stream, like net::async_write, in pieces of next_tls_piece. In direct
/// mode OpenSSL writes each piece to the socket at once when it can; when it needs the socket (would_block; always
/// in Asio's mode) the piece goes on asynchronously with the same bytes, as OpenSSL requires (a gathered piece is
/// copied out of the per-thread scratch buffer first: another connection may gather meanwhile).
template <class ConstBufferSequence>
net::awaitable<std::tuple<error_code, std::size_t>> write_tls(tls_stream& stream, const ConstBufferSequence& buffers) {
    beast::buffers_suffix<ConstBufferSequence> rest(buffers);
    std::size_t written = 0;
    for (;;) {
        std::string& scratch = tls_write_scratch();  // this thread's, taken again after every wait
        const net::const_buffer piece = next_tls_piece(rest, scratch);
        if (piece.size() == 0) co_return std::tuple{error_code{}, written};
        error_code ec;
        std::size_t n = stream.write_now(piece, ec);
        if (ec == net::error::would_block) {
            std::string held;
            if (piece.data() == scratch.data()) held.assign(static_cast<const char*>(piece.data()), piece.size());
            std::tie(ec, n) =
                co_await net::async_write(stream, held.empty() ? piece : net::const_buffer(net::buffer(held)), use_tuple);
        }
        written += n;
        if (ec) co_return std::tuple{ec, written};
        rest.consume(n);
    }
}

}  // namespace gatehouse::proxy
