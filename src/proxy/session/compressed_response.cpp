// client_session: gzip on the way to the client: compression_filter decides and reshapes the head, and
// relay_compressed_response deflates a streamed body piece by piece (a held one is compressed whole in relay_response).
#include "client_session.hpp"

#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/compression_policy.hpp>
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/gzip_relay.hpp>

namespace gatehouse::proxy::detail {

template <class Stream>
std::unique_ptr<gzip_encoder> client_session<Stream>::compression_filter(const exchange& x, const config::config& cfg,
                                                                         bool bodiless,
                                                                         response_head_options& options) {
    if (!cfg.compression.enabled || x.prefetched_body) return nullptr;  // (a 503 relayed after inspect_503: as is)
    const auto& response = x.response->get();
    const compression_decision decision = decide_compression(x.request.get(), response, cfg.compression);
    options.vary_accept_encoding = decision.vary;
    if (!decision.compress()) return nullptr;
    std::unique_ptr<gzip_encoder> encoder;
    if (!bodiless) {
        const auto length = x.response->content_length();
        encoder = std::make_unique<gzip_encoder>(cfg.compression.level,
                                                 length ? std::optional<std::uint64_t>(*length) : std::nullopt);
        if (!encoder->ok()) {
            log::warning("compression: zlib could not start (out of memory); " + describe(&x) + " answered as is");
            return nullptr;
        }
    }
    // The compressed length is known only at the end: chunked, or close-delimited for an HTTP/1.0 client (a HEAD
    // answer gets the same fields without a body, so no length at all).
    options.gzip = true;
    options.content_length = 0;
    options.framing = bodiless ? response_framing::none
                      : options.client_http10 ? response_framing::close_delimited
                                              : response_framing::chunked;
    if (options.framing == response_framing::close_delimited) options.keep_alive = false;
    return encoder;
}

template <class Stream>
net::awaitable<relay_result> client_session<Stream>::relay_compressed_response(exchange& x, const config::config& cfg,
                                                                               const response_head_options& options,
                                                                               gzip_encoder& encoder) {
    auto [ec, n] = co_await eager_write(stream_, net::buffer(out_));
    if (ec) {
        relay_result r;
        r.ec = ec;
        r.failed = relay_side::destination;
        co_return r;
    }
    const auto progress = [this, &cfg](relay_wait wait) { response_progress(cfg, wait); };
    co_return co_await relay_gzipped_body(upstream_, up_in_, *x.response, stream_, encoder,
                                          options.client_http10 ? relay_output::raw : relay_output::chunked, progress);
}

template <class Stream>
void client_session<Stream>::count_compression(const gzip_encoder& encoder) noexcept {
    if (!host_.counting()) return;
    auto& c = host_.counters();
    ++c.compressed_responses;
    c.compression_in_bytes += encoder.bytes_in();
    c.compression_out_bytes += encoder.bytes_out();
}

#define GATEHOUSE_INSTANTIATE(S)                                                                                  \
    template std::unique_ptr<gzip_encoder> client_session<S>::compression_filter(                                 \
        const exchange&, const config::config&, bool, response_head_options&);                                    \
    template net::awaitable<relay_result> client_session<S>::relay_compressed_response(                           \
        exchange&, const config::config&, const response_head_options&, gzip_encoder&);                          \
    template void client_session<S>::count_compression(const gzip_encoder&) noexcept;
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
