// What Asio's reactor knows about whether a socket has bytes to read, and telling it when a read found it empty.
#pragma once

#include <gatehouse/net.hpp>

namespace gatehouse::proxy {

/// Asio 1.81 starts every asynchronous read with a read attempt (a "speculative" read) unless its reactor has
/// marked the socket as drained, which it does only when a read returned end of stream. On a keep-alive proxy that
/// attempt fails with EAGAIN on almost every request, twice: for the client's next request and for the node's
/// answer, each written for just now. Nginx skips those reads by tracking readiness itself: with edge-triggered
/// epoll (Asio registers every socket that way) a read that returned less than it asked for emptied the socket,
/// and any byte arriving later raises a new readiness event.
///
/// mark_drained() tells Asio's reactor what such a read found, through its own per-socket flag. While the flag is
/// set, the next asynchronous read is queued without the attempt (and without an epoll_ctl call); the readiness
/// event clears it and performs the read. The flag lives in Asio's private reactor state (there is no public way
/// to set it), so read_drain.cpp names this exact Boost version and epoll, and fails to compile on any other.
///
/// mark_drained() is correct only right after a read that found the socket empty, with no pass through the
/// event loop in between: a readiness event taken by the loop after that read and before the mark would be lost,
/// and the socket would wait for bytes it already holds. read_some_unless_drained() in eager_io.hpp is the one
/// caller and explains why its two call sites meet that rule. The socket's io_context must run on one thread.
bool known_drained(tcp::socket& socket) noexcept;
void mark_drained(tcp::socket& socket) noexcept;

}  // namespace gatehouse::proxy
