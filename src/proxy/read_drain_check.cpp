// The start-up self-test of proxy/read_drain on a loopback TCP pair, and what start-up makes of it.
#include <gatehouse/proxy/read_drain_check.hpp>

#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/read_drain.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/write.hpp>

#include <poll.h>

#include <chrono>
#include <exception>

namespace gatehouse::proxy {
namespace {

using fault = read_drain_fault;
constexpr auto wait_limit = std::chrono::seconds(1);

/// A connected pair on 127.0.0.1: `peer` writes and closes, `socket` is the one under test (non-blocking).
struct loopback_pair {
    tcp::socket peer;
    tcp::socket socket;
};

loopback_pair connect_pair(net::io_context& io) {
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    loopback_pair p{tcp::socket(io), tcp::socket(io)};
    p.peer.connect(acceptor.local_endpoint());
    acceptor.accept(p.socket);
    p.socket.non_blocking(true);
    return p;
}

/// Waits (bounded) until the kernel holds `events` for the socket, without running the event loop.
bool kernel_has(tcp::socket& socket, short events) {
    pollfd fd{socket.native_handle(), events, 0};
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait_limit).count();
    return ::poll(&fd, 1, static_cast<int>(ms)) == 1 && (fd.revents & events) == events;
}

/// Runs the loop (its reactor included: the caller holds a work guard) until `done()` or the bound.
template <class Done>
bool pump_until(net::io_context& io, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + wait_limit;
    for (;;) {
        io.poll();
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        io.run_one_for(std::chrono::milliseconds(2));
    }
}

/// One asynchronous read and what it brought.
struct pending_read {
    char buffer[16];
    bool done = false;
    error_code ec;
    std::string got;
    void start(tcp::socket& socket) {
        socket.async_read_some(net::buffer(buffer), [this](error_code e, std::size_t n) {
            done = true;
            ec = e;
            got.assign(buffer, n);
        });
    }
};

void send(tcp::socket& peer, std::string_view bytes) { net::write(peer, net::buffer(bytes)); }

read_drain_check marked_read_waits_for_bytes(net::io_context& io, loopback_pair& p, const read_drain_ops& ops) {
    ops.mark(p.socket);
    if (!ops.known(p.socket)) return {fault::mark_not_taken, "a watched socket with nothing to read"};
    send(p.peer, "x");
    if (!kernel_has(p.socket, POLLIN)) return {fault::setup_failed, "loopback bytes did not arrive"};
    if (!pump_until(io, [&] { return !ops.known(p.socket); }))
        return {fault::event_did_not_clear, "bytes arrived, the mark stayed"};
    ops.mark(p.socket);  // on purpose while "x" waits and its event is spent
    if (!ops.known(p.socket)) return {fault::mark_not_taken, "after a readiness event"};
    pending_read read;
    read.start(p.socket);
    io.poll();
    if (read.done) return {fault::read_attempted, "the read found the waiting byte at once"};
    send(p.peer, "y");
    if (!pump_until(io, [&] { return read.done; })) return {fault::bytes_did_not_wake, "no completion in 1 s"};
    if (read.ec || read.got != "xy")
        return {fault::bytes_did_not_wake, "the read returned '" + read.got + "' " + read.ec.message()};
    return {};
}

read_drain_check marked_read_wakes_at_close(net::io_context& io, loopback_pair& p, const read_drain_ops& ops) {
    ops.mark(p.socket);
    if (!ops.known(p.socket)) return {fault::mark_not_taken, "after a read emptied the socket"};
    pending_read read;
    read.start(p.socket);
    io.poll();
    p.peer.shutdown(tcp::socket::shutdown_send);
    if (!pump_until(io, [&] { return read.done; })) return {fault::fin_did_not_wake, "no completion in 1 s"};
    if (read.ec != net::error::eof) return {fault::fin_did_not_wake, "the read returned " + read.ec.message()};
    return {};
}

read_drain_check close_with_last_bytes_refuses_mark(net::io_context& io, loopback_pair& p, const read_drain_ops& ops) {
    ops.mark(p.socket);
    if (!ops.known(p.socket)) return {fault::mark_not_taken, "a watched socket with nothing to read"};
    send(p.peer, "z");
    p.peer.shutdown(tcp::socket::shutdown_send);
    if (!kernel_has(p.socket, POLLIN | POLLRDHUP)) return {fault::setup_failed, "loopback close did not arrive"};
    if (!pump_until(io, [&] { return !ops.known(p.socket); }))
        return {fault::event_did_not_clear, "bytes and close arrived, the mark stayed"};
    ops.mark(p.socket);
    if (ops.known(p.socket)) return {fault::close_not_seen, "marked after the peer's close was announced"};
    return {};
}

}  // namespace

read_drain_ops real_read_drain_ops() noexcept { return {&watch_peer_close, &mark_drained, &known_drained}; }

read_drain_check run_read_drain_self_test(const read_drain_ops& ops) {
    if (!read_drain_compiled_in()) return {fault::compiled_out, "built with GATEHOUSE_READ_DRAIN=OFF"};
    try {
        net::io_context io(1);
        const auto work = net::make_work_guard(io);
        loopback_pair p = connect_pair(io), q = connect_pair(io);
        for (tcp::socket* s : {&p.socket, &q.socket}) {
            error_code ec;
            ops.watch(*s, ec);
            if (ec) return {fault::watch_failed, ec.message()};
        }
        if (auto r = marked_read_waits_for_bytes(io, p, ops); r.fault != fault::none) return r;
        if (auto r = marked_read_wakes_at_close(io, p, ops); r.fault != fault::none) return r;
        return close_with_last_bytes_refuses_mark(io, q, ops);
    } catch (const std::exception& e) {
        return {fault::setup_failed, e.what()};
    }
}

const char* to_string(read_drain_fault f) noexcept {
    switch (f) {
    case fault::none: return "none";
    case fault::compiled_out: return "compiled_out";
    case fault::setup_failed: return "setup_failed";
    case fault::watch_failed: return "watch_failed";
    case fault::mark_not_taken: return "mark_not_taken";
    case fault::event_did_not_clear: return "event_did_not_clear";
    case fault::read_attempted: return "read_attempted";
    case fault::bytes_did_not_wake: return "bytes_did_not_wake";
    case fault::fin_did_not_wake: return "fin_did_not_wake";
    case fault::close_not_seen: return "close_not_seen";
    }
    return "?";
}

read_drain_decision decide_read_drain(const read_drain_check& check) {
    if (check.fault == fault::none)
        return {true, "read_drain: self-test passed: reads skip the attempts bound to fail (Asio's reactor state)"};
    if (check.fault == fault::compiled_out)
        return {false, "read_drain: compiled out (GATEHOUSE_READ_DRAIN=OFF): every read goes Asio's usual way"};
    return {false, std::string("read_drain: self-test failed (") + to_string(check.fault) + ": " + check.detail +
                       "): turned off, every read goes Asio's usual way"};
}

bool start_read_drain() {
    set_read_drain_enabled(true);
    const auto check = run_read_drain_self_test();
    const auto decision = decide_read_drain(check);
    set_read_drain_enabled(decision.enabled);
    if (check.fault == fault::none) log::debug(decision.message);
    else if (check.fault == fault::compiled_out) log::info(decision.message);
    else log::warning(decision.message);
    return decision.enabled;
}

}  // namespace gatehouse::proxy
