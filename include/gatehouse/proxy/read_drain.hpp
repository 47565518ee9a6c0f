// What Asio's reactor knows about whether a socket has bytes to read, and telling it when a read found it empty.
#pragma once

#include <gatehouse/net.hpp>

namespace gatehouse::proxy {

/// Asio 1.81 starts every asynchronous read with a read attempt (a "speculative" read) unless its reactor has
/// marked the socket as drained, which it does only when a read returned end of stream. On a keep-alive proxy that
/// attempt fails with EAGAIN on almost every request, twice: for the client's next request and for the node's
/// answer, each written for just now. Nginx skips those reads by tracking readiness itself: with edge-triggered
/// epoll (Asio registers every socket that way) a read that returned less than it asked for emptied the socket,
/// and any byte arriving later raises a new readiness event. Except the peer's close: a FIN that came with the
/// last bytes was announced by the same event, and the next read would return end of stream at once, with no
/// event to come. Nginx registers EPOLLRDHUP to see that; so does watch_peer_close().
///
/// mark_drained() tells Asio's reactor what such a read found, through its own per-socket flag. While the flag is
/// set, the next asynchronous read is queued without the attempt (and without an epoll_ctl call); the next
/// readiness event clears it and performs the read. The flag and the events live in Asio's private reactor state
/// (there is no public way to reach them), so read_drain.cpp names this exact Boost version and epoll, and fails
/// to compile on any other.
///
/// Three guards make that safe to live with:
/// - read_some_unless_drained() (eager_io.hpp) and a tunnel's byte_pump (tunnel_pump.hpp, by the same rule) are the
///   places that read and then mark, with no wait between the two; the only other mark is the one on a node socket
///   before its connect (nothing can be read from it yet);
/// - read_drain_check.hpp's start-up self-test checks on a loopback pair that the mark does what is described
///   here, and turns the mark off (logged) when it does not;
/// - the CMake option GATEHOUSE_READ_DRAIN=OFF compiles it out (read_drain_off.cpp: no Asio internals at all).
/// Off or compiled out, every function here does what plain Asio does: nothing; known_drained() is false, so
/// read_some_unless_drained() reads the usual way.

/// True when this build has the mark (GATEHOUSE_READ_DRAIN=ON, the default).
bool read_drain_compiled_in() noexcept;

/// True while the mark is used: compiled in, and not turned off (the start-up self-test does when it fails).
bool read_drain_enabled() noexcept;

/// Turns the mark on or off for the whole process. Call it before worker threads start (the self-test, tests).
/// Turning it on does nothing in a build without it.
void set_read_drain_enabled(bool on) noexcept;

/// Registers the socket for EPOLLRDHUP, so that the events Asio's reactor takes for it say when the peer has
/// closed its side: one epoll_ctl call, or none after watch_peer_close_once_connected() and a connect that had to
/// wait. mark_drained() does nothing on a socket that is not watched this way.
void watch_peer_close(tcp::socket& socket, error_code& ec) noexcept;

/// On a socket opened and not yet connected: the registration Asio makes when an asynchronous connect has to wait
/// (it adds EPOLLOUT) carries EPOLLRDHUP too. Call watch_peer_close() once connected: it completes the
/// registration only when the connect did not wait.
void watch_peer_close_once_connected(tcp::socket& socket) noexcept;

/// Low level: read_some_unless_drained() marks after its own reads; call this directly only on a socket opened and
/// not yet connected (the node connect path).
///
/// Marks the socket drained, unless the last event the reactor took for it reported the peer's close, a hang-up,
/// an error (then the next read must try: it returns end of stream or the error at once) or TCP urgent data (a
/// read stops short at it). Asio reuses reactor states of closed sockets without clearing that last event, so a
/// new socket may be refused until its first event: a missed saving, never a missed event.
///
/// Correct only when no byte can be waiting: right after a read that returned less than it asked for (or
/// EAGAIN), with no pass through the event loop in between (a readiness event taken by the loop after that read
/// and before the mark would be lost, and the socket would wait for bytes it already holds); or on a socket opened
/// but not connected yet. read_some_unless_drained() in eager_io.hpp explains why its marks meet that rule. The
/// socket's io_context must run on one thread.
void mark_drained(tcp::socket& socket) noexcept;

/// True while the socket is marked drained and no readiness event has come since.
bool known_drained(tcp::socket& socket) noexcept;

}  // namespace gatehouse::proxy
