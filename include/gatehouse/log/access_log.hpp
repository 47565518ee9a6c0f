// The access log: one line per request in Nginx's `combined` format (plus gatehouse's fields) or JSON, buffered per
// worker and handed whole lines at a time to the sink's writer thread (access_log_sink.hpp).
#pragma once

#include <gatehouse/log/access_log_sink.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse::log {

/// Bytes of the request target written to the log; longer targets are cut and end in "...".
constexpr std::size_t max_logged_target = 4096;
/// Bytes of every other text field written to the log (method, referer, user agent, addresses, ids).
constexpr std::size_t max_logged_field = 512;
/// No access line is longer than this, whatever the client sent (escaping takes up to 6 bytes per byte in JSON).
constexpr std::size_t max_access_line = 80 * 1024;

/// One request as the access log shows it. Every text field may hold anything a client sent: the formats cut it
/// to its bound and escape `"`, `\`, control bytes, bytes >= 0x7f (and, outside quotes, spaces).
struct access_record {
    std::string_view client_ip;     ///< the resolved client ("unknown" for a malformed trusted X-Forwarded-For chain)
    std::string_view peer_ip;       ///< the socket peer
    std::string_view method;        ///< "" when the request line could not be read
    std::string_view target;
    unsigned http_version = 11;     ///< 10 or 11
    unsigned status = 0;
    std::uint64_t body_bytes_sent = 0;
    std::string_view referer;
    std::string_view user_agent;
    std::string_view request_id;
    std::string_view node;          ///< "" when gatehouse answered itself
    unsigned upstream_status = 0;   ///< 0 = no node answered
    double upstream_time = -1;      ///< seconds until the node's response head; < 0 = none
    double request_time = 0;        ///< seconds from the request head to the end of the answer
    bool maintenance = false;       ///< answered by maintenance mode
    bool bypass = false;            ///< maintenance was on and this client bypassed it
    std::int64_t unix_ms = 0;       ///< when the request ended
    /// A WebSocket tunnel (status 101), logged when it closes: request_time is its whole life, body_bytes_sent the
    /// bytes relayed to the client, and these the bytes from the client and who ended it.
    bool tunnel = false;
    std::uint64_t tunnel_from_client = 0;
    std::string_view tunnel_closed_by;  ///< "client", "node" or "gatehouse" (idle timeout, a stalled side, a stop)
};

/// Copies the text `r` points to (every string_view field) into `storage` and points `r` there: the record then
/// outlives the request it came from (a WebSocket tunnel logs its line long after its request's parser is gone).
void keep_strings(access_record& r, std::string& storage);

/// Appends one line in Nginx's combined format followed by gatehouse's fields:
/// `1.2.3.4 - - [26/Nov/2026:21:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8" node=node1 upstream_status=200
/// upstream_time=0.002 request_time=0.003 request_id=... maintenance=0 bypass=0 peer=10.0.0.2`; a tunnel's line
/// ends in ` ws_from_client=N ws_closed_by=client`.
void format_combined(std::string& out, const access_record& r);
/// Appends one JSON object line with the same fields.
void format_json(std::string& out, const access_record& r);

}  // namespace gatehouse::log
