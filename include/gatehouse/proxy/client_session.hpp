// Entry point of the data plane: serve one accepted client connection until it closes.
#pragma once

#include <gatehouse/net.hpp>

#include <memory>

namespace gatehouse::tls {
class server_tls;
}

namespace gatehouse::proxy {

class session_host;

/// Starts serving `socket` (whose peer is `peer`, as accept returned it) on `owner`'s thread (must be called
/// there). The session owns itself and ends when the client leaves, the worker drains, or a deadline passes.
void start_client_session(session_host& owner, tcp::socket&& socket, const net::ip::address& peer);

/// The same on a TLS listener: the handshake with `certificates` first (within timeouts.client_header); the
/// session owns `certificates` until it ends, so a reload that brings new ones does not disturb it.
void start_tls_session(session_host& owner, tcp::socket&& socket, const net::ip::address& peer,
                       std::shared_ptr<const tls::server_tls> certificates);

}  // namespace gatehouse::proxy
