// What active health checks say a node is: the vocabulary the data plane, the checker and the status share.
#pragma once

#include <cstdint>

namespace gatehouse::model {

/// What a node is, as far as active checks tell.
enum class node_health : std::uint8_t {
    unknown,   ///< no check has passed yet: takes no traffic
    starting,  ///< answers NocoBase's 503 "maintaining" (starting, upgrading): takes no traffic, not a failure
    up,        ///< `rise` consecutive passes
    down,      ///< `fall` consecutive failures
};

const char* to_string(node_health h) noexcept;

}  // namespace gatehouse::model
