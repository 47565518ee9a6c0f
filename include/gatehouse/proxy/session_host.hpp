// What a client session may ask of the worker that owns it: the narrow interface between proxy/ and server/.
#pragma once

#include <gatehouse/balancer/balancer.hpp>
#include <gatehouse/log/access_log.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/metrics/counters.hpp>
#include <gatehouse/model/snapshot.hpp>
#include <gatehouse/net.hpp>
#include <gatehouse/proxy/session_base.hpp>
#include <gatehouse/upstream/connection_pool.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gatehouse::proxy {

/// Implemented by the worker (server/worker.hpp). Called a few times per request, never per byte. Everything lives
/// on the worker's thread: no call locks.
class session_host {
public:
    // Where the session runs and what it serves with.
    virtual net::io_context& context() noexcept = 0;
    /// The newest snapshot (config, nodes, maintenance); a request keeps the one it started with.
    virtual const model::snapshot_ptr& snapshot() const noexcept = 0;
    /// Changes whenever a reload changes the node list (node indexes then mean other nodes).
    virtual std::uint64_t nodes_generation() const noexcept = 0;
    /// The worker stops: finish the request in hand, take no other.
    virtual bool draining() const noexcept = 0;

    // Choosing a node and its connection.
    virtual balancer::balancer& balancer() noexcept = 0;
    virtual std::span<const std::uint32_t> in_flight() const noexcept = 0;
    virtual std::vector<double>& weight_factors() noexcept = 0;
    virtual upstream::connection_pool& pool() noexcept = 0;
    virtual log::every& panic_log() noexcept = 0;

    // Counting and logging.
    virtual bool counting() const noexcept = 0;
    virtual metrics::worker_counters& counters() noexcept = 0;
    virtual bool access_logging() const noexcept = 0;
    virtual void log_access(const log::access_record& record) = 0;
    virtual void next_request_id(char (&out)[32]) noexcept = 0;

    // The session's own life in the worker.
    virtual void link(session_base& s) noexcept = 0;
    virtual void unlinked() noexcept = 0;  ///< a session ended (called from its destructor)
    virtual void request_started(session_base& session, std::size_t node) noexcept = 0;
    virtual void request_finished(session_base& session) noexcept = 0;

protected:
    ~session_host() = default;
};

}  // namespace gatehouse::proxy
