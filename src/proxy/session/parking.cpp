// client_session: starting the connection's coroutine, and parking an idle keep-alive connection without one.
#include "client_session.hpp"

#include <gatehouse/log/escaped.hpp>

#include <boost/asio/co_spawn.hpp>

namespace gatehouse::proxy::detail {

template <class Stream>
void client_session<Stream>::start(std::shared_ptr<client_session> session) {
    // run() itself is spawned, its completion handler keeping the session alive: no coroutine of its own around
    // it (such a wrapper's frame cost 464 bytes for the connection's whole life, idle or tunnelling).
    auto& s = *session;
    net::co_spawn(s.host_.context(), s.run(), [session = std::move(session)](std::exception_ptr e) {
        log::log_escaped(e, "a client session");
    });
}

template <class Stream>
void client_session<Stream>::release_buffers() {
    in_.shrink_to_fit();
    up_in_.shrink_to_fit();
    out_ = std::string();
}

template <class Stream>
bool client_session<Stream>::park() {
    release_buffers();
    if (holds_input(stream_)) return false;  // bytes OpenSSL holds already would never wake the socket
    // The wait's handler is all that holds the session: a pointer, no coroutine frame. Readability (the next
    // request, or the client's close) starts run() again; a failed wait (on_deadline or on_shutdown cancelled
    // it, on_force_close closed the socket) starts it to close the connection.
    socket_of(stream_).async_wait(tcp::socket::wait_read,
                                  [session = this->shared_from_this()](const error_code& ec) mutable {
                                      session->resumed_ = true;
                                      session->wake_failed_ = static_cast<bool>(ec);
                                      start(std::move(session));
                                  });
    return true;
}

#define GATEHOUSE_INSTANTIATE(S)                                                       \
    template void client_session<S>::start(std::shared_ptr<client_session<S>>);        \
    template void client_session<S>::release_buffers();                                \
    template bool client_session<S>::park();
GATEHOUSE_INSTANTIATE(tcp::socket)
GATEHOUSE_INSTANTIATE(tls_stream)
#undef GATEHOUSE_INSTANTIATE

}  // namespace gatehouse::proxy::detail
