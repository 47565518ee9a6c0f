// client_session: gatehouse's own error answers and the lingering close after them.
#pragma once

#include "client_session.hpp"

namespace gatehouse::proxy::detail {

template <class Stream>
net::awaitable<void> client_session<Stream>::respond_error(http::status status, std::string_view detail,
                                                          const exchange* x, bool keep_alive) {
    const auto code = static_cast<unsigned>(status);
    auto line = describe(x) + ": " + std::to_string(code) + " " + std::string(http::obsolete_reason(status)) + " (" +
                std::string(detail) + ")";
    if (code >= 500) log::warning(line);
    else log::info(line);

    keep_alive = keep_alive && !owner_.draining();
    out_ = error_response(status, detail, x ? x->request_id : std::string_view{}, keep_alive);
    co_await send_own_answer(keep_alive);
}

template <class Stream>
net::awaitable<bool> client_session<Stream>::send_own_answer(bool keep_alive) {
    set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
    auto [ec, n] = co_await net::async_write(stream_, net::buffer(out_), use_tuple);
    if (ec) co_return false;
    if (!keep_alive) co_await linger_close();
    co_return keep_alive;
}

template <class Stream>
net::awaitable<void> client_session<Stream>::linger_close() {
    // Closing with unread input makes the kernel send a reset, which can destroy the answer before the client
    // reads it. Stop sending, read what the client still sends for a short while, then close.
    auto& socket = beast::get_lowest_layer(stream_);
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    set_deadline(phase::closing, std::chrono::milliseconds(linger_ms));
    std::uint64_t drained = 0;
    char sink[4096];
    while (!ec && drained < linger_bytes) {
        std::size_t n = 0;
        std::tie(ec, n) = co_await socket.async_read_some(net::buffer(sink), use_tuple);
        drained += n;
    }
    close_sockets();
}

}  // namespace gatehouse::proxy::detail
