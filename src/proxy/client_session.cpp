// The client session entry points: one code path for every stream type (plain TCP and TLS).
#include <gatehouse/proxy/client_session.hpp>

#include "session/client_session.hpp"

#include <gatehouse/log/escaped.hpp>
#include <gatehouse/tls/server_tls.hpp>

#include <boost/asio/co_spawn.hpp>

namespace gatehouse::proxy {

namespace {
template <class Stream>
void spawn_session(session_host& owner, std::shared_ptr<detail::client_session<Stream>> session) {
    // run() itself is spawned, its completion handler keeping the session alive: no coroutine of its own around
    // it (such a wrapper's frame cost 464 bytes for the connection's whole life, idle or tunnelling).
    auto& s = *session;
    net::co_spawn(owner.context(), s.run(), [session = std::move(session)](std::exception_ptr e) {
        log::log_escaped(e, "a client session");
    });
}
}  // namespace

void start_client_session(session_host& owner, tcp::socket&& socket, const net::ip::address& peer) {
    spawn_session(owner, std::make_shared<detail::client_session<tcp::socket>>(owner, std::move(socket), peer));
}

void start_tls_session(session_host& owner, tcp::socket&& socket, const net::ip::address& peer,
                       std::shared_ptr<const tls::server_tls> certificates) {
    const tls_io io = owner.snapshot()->config->tls.direct_io ? tls_io::direct : tls_io::asio;
    auto session = std::make_shared<detail::client_session<tls_stream>>(
        owner, tls_stream(std::move(socket), certificates->initial_context(), io), peer);
    session->keep(std::move(certificates));
    spawn_session(owner, std::move(session));
}

}  // namespace gatehouse::proxy
