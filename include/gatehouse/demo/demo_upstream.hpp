// Small built-in HTTP nodes for `gatehouse demo` and the benchmarks: they say which node answered.
#pragma once

#include <gatehouse/net.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace gatehouse::demo {

struct demo_node {
    std::string name;
    tcp::endpoint endpoint;
};

/// Serves every node on one thread of its own. Answers, keep-alive:
///   GET /api/__health_check  -> 200 "ok" (like a running NocoBase node)
///   GET /bytes/N             -> 200 with exactly N bytes (N <= 64 MiB; otherwise, or not a number, 400)
///   GET /__demo/connections  -> 200, the number of connections this node accepted so far (for benchmarks)
///   anything else            -> 200 text naming the node, the method and the target
/// Request bodies over 1 MiB get 413 (and the connection closes). Every answer carries "X-Node: <name>".
class demo_upstreams {
public:
    /// Binds every node's address now (throws std::system_error naming the address).
    explicit demo_upstreams(std::vector<demo_node> nodes);
    ~demo_upstreams();
    demo_upstreams(const demo_upstreams&) = delete;
    demo_upstreams& operator=(const demo_upstreams&) = delete;

    void start();  ///< starts the thread
    void stop();   ///< stops and joins (idempotent)
    /// Serves on the calling thread until stop() from another thread.
    void run();

    struct node_state;  ///< one listening node (defined in the .cpp)

private:
    net::io_context context_{1};
    std::vector<std::shared_ptr<node_state>> nodes_;
    std::thread thread_;
};

}  // namespace gatehouse::demo
