// A blocking client for gatehouse's own admin API (the CLI's maintenance/nodes/drain/... subcommands).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace gatehouse::admin {

struct client_answer {
    bool reached = false;   ///< false: no HTTP answer at all (`error` says why)
    unsigned status = 0;
    std::string body;
    std::string error;
};

/// Sends one request to the admin API at `address` ("host:port", numeric) and waits for the answer, at most
/// `timeout`. `token` ("" = none) goes in `Authorization: Bearer`. Never throws.
client_answer call_admin(const std::string& address, std::string_view method, std::string_view target,
                         const std::string& token, std::string_view json_body = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace gatehouse::admin
