// What a worker knows of each client connection it owns: a deadline and a way to stop it.
#pragma once

#include <boost/intrusive/list_hook.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

namespace gatehouse::proxy {

/// Something a session holds for its owner until the session ends (the worker's place in
/// limits.max_connections_per_client). Given back by its destructor.
class session_ticket {
public:
    virtual ~session_ticket() = default;
};

/// Base of every client session. Lives on one worker thread; linked into that worker's session list for the
/// deadline sweep and for shutdown. Unlinks itself when destroyed.
class session_base
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    virtual ~session_base() = default;

    /// Called by the worker's tick when now >= deadline_ms().
    virtual void on_deadline(std::int64_t now_ms) = 0;

    /// Called once when the worker starts draining: an idle connection closes now, a busy one after its response.
    virtual void on_shutdown() = 0;

    /// Called when the drain time is over: close everything now.
    virtual void on_force_close() = 0;

    /// Called by every tick: a connection that has stayed idle since the previous tick gives its buffers back,
    /// so an idle keep-alive connection costs little, while a busy one keeps them between requests.
    virtual void on_tick() = 0;

    std::int64_t deadline_ms() const noexcept { return deadline_ms_; }

    /// True while the connection waits for its next request.
    virtual bool idle() const noexcept = 0;

    static constexpr std::size_t no_node = std::numeric_limits<std::size_t>::max();
    /// The node (index in the worker's current node list) this session has a request in flight to, or no_node.
    /// Kept by the worker, which re-maps it when a reload changes the node list.
    std::size_t in_flight_node = no_node;
    /// True while the request in flight to in_flight_node is an open WebSocket tunnel (it stays in flight, so
    /// least_request, drain and pin count it like a request).
    bool tunnelling = false;
    /// What the owner gave this connection to hold (its place in limits.max_connections_per_client), given back
    /// when the session is destroyed. Empty when nothing is counted.
    std::unique_ptr<session_ticket> ticket;

protected:
    std::int64_t deadline_ms_ = std::numeric_limits<std::int64_t>::max();
};

}  // namespace gatehouse::proxy
