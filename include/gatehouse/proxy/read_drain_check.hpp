// The start-up self-test of proxy/read_drain: does the mark in Asio's reactor state behave as read_drain.hpp says?
#pragma once

#include <gatehouse/net.hpp>

#include <string>

namespace gatehouse::proxy {

/// What the self-test found wrong (none: the mark behaves as described).
enum class read_drain_fault {
    none,
    compiled_out,          ///< built with GATEHOUSE_READ_DRAIN=OFF: nothing to test
    setup_failed,          ///< the loopback pair could not be made (not the mark's fault, but it stays off)
    watch_failed,          ///< the EPOLLRDHUP registration failed
    mark_not_taken,        ///< a watched, empty socket was not marked
    event_did_not_clear,   ///< a readiness event left the mark set
    read_attempted,        ///< a read on a marked socket was tried at once: the flag is not the one Asio reads
    bytes_did_not_wake,    ///< bytes arriving did not complete a read waiting on a marked socket
    fin_did_not_wake,      ///< the peer's close did not complete a read waiting on a marked socket (with eof)
    close_not_seen,        ///< after a close announced with the last bytes, the socket could still be marked
};

/// The self-test's result: the fault and what it saw.
struct read_drain_check {
    read_drain_fault fault = read_drain_fault::none;
    std::string detail;
};

/// The functions the self-test drives: read_drain's own unless a test replaces one to see the fault it causes.
struct read_drain_ops {
    void (*watch)(tcp::socket&, error_code&) noexcept;
    void (*mark)(tcp::socket&) noexcept;
    bool (*known)(tcp::socket&) noexcept;
};
read_drain_ops real_read_drain_ops() noexcept;

/// Checks on a connected loopback TCP pair, in an io_context of its own on this thread, that: a watched empty
/// socket takes the mark; a readiness event clears it; a read started on a marked socket is queued without an
/// attempt; bytes arriving complete that read; the peer's close completes a read waiting on a marked socket with
/// eof; a close that came with the last bytes makes the next mark refused. Takes a few milliseconds; every wait is
/// bounded (a second). Run it with the mark on.
read_drain_check run_read_drain_self_test(const read_drain_ops& ops = real_read_drain_ops());

/// A fault's name, for the log ("read_attempted").
const char* to_string(read_drain_fault fault) noexcept;

/// What start-up does with a result: whether the mark stays on, and the line to log.
struct read_drain_decision {
    bool enabled = false;
    std::string message;
};
read_drain_decision decide_read_drain(const read_drain_check& check);

/// Start-up: runs the self-test with the mark on, turns the mark off when it fails, and logs the decision (info
/// when on or compiled out, warning when turned off). Call before worker threads start. Returns whether it is on.
bool start_read_drain();

}  // namespace gatehouse::proxy
