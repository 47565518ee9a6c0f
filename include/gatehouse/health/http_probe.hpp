// One active health check of one node: GET the health path on a fresh connection and judge the answer.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/health/health_state.hpp>
#include <gatehouse/net.hpp>
#include <gatehouse/net/node_tls.hpp>

#include <memory>

#include <string>
#include <string_view>

namespace gatehouse::health {

struct probe_outcome {
    check_result result = check_result::fail;
    std::string detail;  ///< "connect: Connection refused", "status 500", "APP_COMMANDING upgrade", "ok"
};

/// Judges a health answer: a pass when the status is expected and the body (trimmed) equals expect_body (or
/// expect_body is empty); NocoBase's 503 `{"error":{"maintaining":true,"code":...}}` means starting (detail:
/// "APP_COMMANDING upgrade: load plugin [auth], 9/77", NocoBase's code, command and progress message); anything
/// else fails. Pure.
probe_outcome judge_health_answer(unsigned status, std::string_view body, const config::health_check_config& cfg);

/// If `body` is NocoBase's "app not running" JSON (`error.maintaining == true`), its code and command name
/// ("APP_COMMANDING upgrade"); otherwise empty. Pure.
std::string nocobase_maintaining(std::string_view body);

/// The `error.message` of NocoBase's JSON error body, control characters blanked, at most 120 bytes; "" when
/// absent. Pure.
std::string nocobase_message(std::string_view body);

/// Runs one check against `endpoint` within cfg.timeout, on the calling coroutine's executor. With `tls` (an
/// https:// node) the check goes through TLS, verified as the node's requests are (`names`); a refused handshake
/// fails the check with OpenSSL's reason ("tls: certificate verify failed: ...").
net::awaitable<probe_outcome> probe_node(tcp::endpoint endpoint, std::string host,
                                         const config::health_check_config& cfg,
                                         std::shared_ptr<node_tls::ssl::context> tls = nullptr,
                                         node_tls::peer_names names = {});

}  // namespace gatehouse::health
