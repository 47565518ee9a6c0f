// Entry point of the data plane: serve one accepted client connection until it closes.
#pragma once

#include <gatehouse/net.hpp>

namespace gatehouse::server { class worker; }

namespace gatehouse::proxy {

/// Starts serving `socket` on `owner`'s thread (must be called there). The session owns itself and ends when
/// the client leaves, the worker drains, or a deadline passes.
void start_client_session(server::worker& owner, tcp::socket&& socket);

}  // namespace gatehouse::proxy
