// Relaying a parsed body gzipped as it arrives: each piece deflated, sync-flushed whenever the source pauses, so a
// streamed answer stays live; memory bounded by one piece, the encoder and its output.
#pragma once

#include <gatehouse/proxy/body_relay.hpp>
#include <gatehouse/proxy/gzip_encoder.hpp>

#include <string>

namespace gatehouse::proxy {

/// Fewer unparsed bytes than this left in the buffer after a piece: the source is drained for the moment (what is
/// left is at most framing, such as a chunk's CRLF and the next size line), so the output is flushed before the
/// next read may wait. More: the next piece is already there, and zlib may keep output back for a better ratio.
inline constexpr std::size_t gzip_drained_below = 64;

/// Like relay_parsed_body, the body gzipped through `encoder`: `r.bytes` counts the compressed bytes written (framing
/// excluded). The source's framing is any (Content-Length, chunked, close-delimited); `output` frames the result.
template <class Source, class Parser, class Destination, class Progress>
net::awaitable<relay_result> relay_gzipped_body(Source& source, beast::flat_buffer& buffered, Parser& parser,
                                                Destination& destination, gzip_encoder& encoder, relay_output output,
                                                Progress progress) {
    relay_result r;
    auto piece = std::make_unique<char[]>(relay_piece);
    std::string packed;
    bool pending = false;  // input given to zlib without a flush since
    const auto write_packed = [&]() -> net::awaitable<bool> {
        if (packed.empty()) co_return true;
        detail::report_progress(progress, relay_wait::write);
        if (const error_code ec = co_await write_body_piece(destination, packed, output)) {
            r.ec = ec;
            r.failed = relay_side::destination;
            co_return false;
        }
        r.bytes += packed.size();
        packed.clear();
        co_return true;
    };
    while (!parser.is_done()) {
        detail::report_progress(progress, relay_wait::read);
        auto [ec, produced] = co_await read_body_piece(source, buffered, parser, piece.get());
        if (ec) {
            r.ec = ec;
            r.failed = relay_side::source;
            co_return r;
        }
        const bool drained = produced < relay_piece && buffered.size() < gzip_drained_below;
        if (produced == 0 && !(pending && drained)) continue;
        if (!encoder.compress(std::string_view(piece.get(), produced), drained ? gzip_flush::sync : gzip_flush::none,
                              packed)) {
            r.ec = make_error_code(std::errc::not_enough_memory);
            r.failed = relay_side::destination;
            co_return r;
        }
        pending = !drained;
        if (!co_await write_packed()) co_return r;
    }
    if (!encoder.compress({}, gzip_flush::finish, packed)) {
        r.ec = make_error_code(std::errc::not_enough_memory);
        r.failed = relay_side::destination;
        co_return r;
    }
    if (!co_await write_packed()) co_return r;
    if (output == relay_output::chunked) detail::report_progress(progress, relay_wait::write);
    if (const error_code ec = co_await end_body(destination, output)) r = relay_result{ec, relay_side::destination, r.bytes};
    co_return r;
}

}  // namespace gatehouse::proxy
