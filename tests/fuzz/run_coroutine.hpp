// Runs one coroutine to completion on a fresh io_context; an exception escaping it is a bug (the session would
// log "bug: exception escaped"), so the fuzz target stops there.
#pragma once

#include <gatehouse/net.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace gatehouse::fuzz {

template <class Make>
void run_coroutine(net::io_context& io, Make make) {
    bool finished = false;
    net::co_spawn(io, make(), [&finished](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::fprintf(stderr, "exception escaped: %s\n", ex.what());
            }
            std::abort();
        }
        finished = true;
    });
    io.run();
    if (!finished) {
        std::fprintf(stderr, "coroutine did not finish\n");
        std::abort();
    }
}

/// Stops the run with a message when a property of the proxy does not hold.
#define GATEHOUSE_FUZZ_CHECK(cond)                                                                         \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);              \
            std::abort();                                                                                  \
        }                                                                                                  \
    } while (0)

}  // namespace gatehouse::fuzz
