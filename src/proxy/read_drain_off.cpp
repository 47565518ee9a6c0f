// read_drain compiled out (CMake GATEHOUSE_READ_DRAIN=OFF): plain Asio behaviour, no access to Asio's internals.
#include <gatehouse/proxy/read_drain.hpp>

namespace gatehouse::proxy {

bool read_drain_compiled_in() noexcept { return false; }

bool read_drain_enabled() noexcept { return false; }

void set_read_drain_enabled(bool) noexcept {}

void watch_peer_close(tcp::socket&, error_code& ec) noexcept { ec = {}; }

void watch_peer_close_once_connected(tcp::socket&) noexcept {}

void mark_drained(tcp::socket&) noexcept {}

bool known_drained(tcp::socket&) noexcept { return false; }

}  // namespace gatehouse::proxy
