// The controller's handle on one worker (private to src/server).
#pragma once

#include <gatehouse/control/worker_handle.hpp>
#include <gatehouse/server/worker.hpp>

#include <memory>

namespace gatehouse::server {

/// A handle that forwards the controller's requests to `w` (which must outlive it).
std::unique_ptr<control::worker_handle> make_worker_handle(worker& w);

}  // namespace gatehouse::server
