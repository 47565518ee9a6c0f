// The validated configuration of one gatehouse process: plain values, no TOML, no Asio.
#pragma once

#include <gatehouse/config/cidr.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gatehouse::config {

using duration = std::chrono::milliseconds;

/// A numeric socket address: host names are resolved when the file is loaded.
struct socket_address {
    std::string text;   ///< as written in the file, e.g. "[::]:8080" or "node1.local:13000"
    std::string ip;     ///< numeric form, e.g. "0.0.0.0", "::1"
    std::uint16_t port = 0;
    bool is_v6 = false;
};

enum class balance_policy { round_robin, ip_hash, least_request };

struct node_config {
    std::string name;
    socket_address address;  ///< text without the scheme: "host:port"
    unsigned weight = 1;
    bool tls = false;        ///< the address was written "https://host:port": gatehouse talks TLS to the node
    std::string host;        ///< the address's host as written (no brackets): the default SNI and verified name
    bool host_is_ip = false; ///< `host` is an IP literal: verified against an IP SAN, no SNI unless upstream.tls.sni
    std::string dns_name;    ///< set on a node made from an [[upstream.dns]] answer: the name it came from
};

/// One [[upstream.dns]] entry: every A/AAAA record of `name` is a node on `port` (README, Nodes from DNS).
struct dns_config {
    std::string name;                ///< the host name resolved, e.g. "nocobase-headless.default.svc.cluster.local"
    std::uint16_t port = 0;
    duration refresh{5000};          ///< time between lookups
    unsigned weight = 1;             ///< each node's weight
    bool tls = false;                ///< talk TLS to the nodes (verified against `name`, as for an https:// node)
};

/// [resolver]: where names of [[upstream.dns]] and of static nodes are looked up again while running.
struct resolver_config {
    /// DNS servers ("ip:port"), then the only source of answers; empty = /etc/resolv.conf's, after /etc/hosts
    std::vector<socket_address> servers;
    duration timeout{2000};               ///< per lookup, all tries included
    duration refresh{5000};               ///< time between lookups of a static node's host name
};

/// How gatehouse talks TLS to the nodes whose address is "https://..." ([upstream.tls]).
struct node_tls_config {
    std::string ca_file;          ///< PEM CA certificates the nodes' chains are verified against; "" = system store
    std::string ca_pem;           ///< its contents, read at load and reload
    bool verify = true;           ///< false: any certificate is accepted (only when written explicitly)
    std::string sni;              ///< server name sent and verified; "" = the node's host when it is a name
    std::string cert_file;        ///< client certificate chain (PEM) for mutual TLS; "" = none
    std::string cert_pem;
    std::string key_file;         ///< its private key (PEM)
    std::string key_pem;
};

struct proxy_config {
    std::vector<socket_address> listen;  ///< at least one
    unsigned workers = 0;                ///< 0 = one per CPU core
    std::vector<cidr> trusted_proxies;   ///< peers whose X-Forwarded-For chain is read to find the client
    bool trust_forwarded_host_proto = false;  ///< keep a trusted peer's X-Forwarded-Host/-Proto instead of replacing
    /// Read a request body whole (memory, then a temporary file) before a node is chosen; false: stream it to the
    /// node as it arrives (bodies over 64 KiB then hold a node connection for as long as the client sends).
    bool request_buffering = true;
    /// Plain listeners answer every request with a 301 to https://<host><target> (needs [tls] listen).
    bool redirect_https = false;
};

struct upstream_config {
    balance_policy balance = balance_policy::round_robin;
    std::vector<node_config> nodes;      ///< unique names; at least one unless `dns` has an entry
    std::vector<dns_config> dns;         ///< [[upstream.dns]]: nodes found by name, looked up again every refresh
    unsigned tries = 2;                  ///< nodes tried per request (>= 1)
    /// Most idle pooled connections kept per node per worker; unset: as many as recent demand used (no cap);
    /// 0: no reuse (every request opens a new connection).
    std::optional<unsigned> keepalive;
    duration slow_start{0};              ///< a node that comes back ramps from 10% to 100% of its share over this
    node_tls_config tls;                 ///< for the nodes written "https://..."
    /// Open WebSocket tunnels on a node that takes no new requests (drained, disabled, another node pinned) are
    /// closed this long after the tunnel saw it (FIN both ways); 0 = off: they finish on their own.
    duration drain_websockets_after{0};
};

/// An inclusive range of HTTP status codes, e.g. 200-399.
struct status_range {
    unsigned low = 200;
    unsigned high = 200;
};

struct health_check_config {
    bool enabled = true;
    std::string path = "/api/__health_check";   ///< NocoBase's health endpoint
    std::string host;                           ///< Host header sent; the node's address when empty
    duration interval{std::chrono::seconds(2)};
    duration timeout{std::chrono::seconds(2)};
    duration jitter{std::chrono::milliseconds(200)};
    /// Time between checks of a node that says it is starting (NocoBase's 503 "maintaining"), no jitter: it takes
    /// traffic again within this of being ready.
    duration starting_interval{std::chrono::milliseconds(500)};
    unsigned rise = 2;                          ///< consecutive passes to mark a node up
    unsigned fall = 3;                          ///< consecutive failures to mark it down
    std::vector<status_range> expect_status{status_range{}};
    std::string expect_body = "ok";             ///< exact body (whitespace trimmed); "" = any body
    // Passive checks, from real traffic.
    unsigned max_fails = 3;                     ///< consecutive failed requests that eject a node; 0 = off
    duration fail_timeout{std::chrono::seconds(10)};    ///< first ejection; doubles on repeat
    duration fail_timeout_max{std::chrono::minutes(5)}; ///< cap of the doubling
    bool fail_on_5xx = false;                   ///< count 5xx answers (other than NocoBase's "starting") as failures
};

struct timeouts_config {
    duration client_header{std::chrono::seconds(10)};
    duration client_idle{std::chrono::seconds(60)};
    duration upstream_connect{std::chrono::seconds(3)};
    duration upstream_response{std::chrono::seconds(600)};
    duration upstream_idle{std::chrono::seconds(3)};
    /// The whole request body must arrive within this (from the end of the head); 0 = no total limit.
    duration client_body{std::chrono::seconds(300)};
    duration shutdown_drain{std::chrono::seconds(30)};
    /// A WebSocket tunnel with no byte either way for this long is closed (NocoBase's client pings every 300 s).
    duration websocket_idle{std::chrono::minutes(15)};
};

struct limits_config {
    std::uint64_t max_request_head = 16 * 1024;            ///< bytes of request line + headers
    std::uint64_t max_request_body = 1024ull * 1024 * 1024; ///< 0 = unlimited
    /// Client connections per worker; at the cap a worker stops accepting (new ones wait in the listen backlog)
    /// until one closes. 0 = unlimited.
    std::uint64_t max_connections = 10000;
    /// Request body bytes held in memory per request before the body moves to a temporary file.
    std::uint64_t request_buffer_memory = 64 * 1024;
    /// Directory of those temporary files (unlinked at once); resolved at load: $TMPDIR, else /tmp.
    std::string request_buffer_dir;
    /// Open client connections per client address (socket peer), across all workers; 0 = unlimited.
    std::uint64_t max_connections_per_client = 0;
};

/// The admin API's listener and its bearer token ([admin]).
struct admin_config {
    bool enabled = true;                         ///< false when listen = "" (no admin API)
    socket_address listen{"127.0.0.1:9901", "127.0.0.1", 9901, false};
    std::string token_env = "GATEHOUSE_ADMIN_TOKEN";  ///< environment variable holding the token
    std::string token_file;                      ///< file holding the token (instead of token_env)
    std::string token_path;                      ///< token_file resolved against the configuration file's directory
    bool token_file_missing = false;             ///< token_file is set but does not exist yet (serve creates it)
    /// Without a token, serve loopback clients anyway (the rule before tokens were required); false: no token is
    /// a configuration error for serve and check.
    bool allow_no_token = false;
    std::string token;                           ///< resolved at load; "" = none. Never logged.
    std::string token_origin;                    ///< where the token came from, for the start-up line
};

/// The shortest value maintenance.bypass_cookie may have: it is a password anyone can try.
inline constexpr std::size_t min_bypass_cookie_value = 32;

/// Maintenance mode's answer and the operator bypass ([maintenance]).
struct maintenance_config {
    std::string page;                            ///< HTML file served to browsers while on ("" = built-in page)
    std::string page_html;                       ///< its contents, read at load and reload
    duration retry_after{std::chrono::seconds(120)};
    std::string state_file;                      ///< operator state persisted here ("" = not persisted)
    std::vector<cidr> bypass_cidrs;              ///< clients that reach the nodes while maintenance is on
    /// Cookie "name=value" that also bypasses ("" = off), from bypass_cookie or bypass_cookie_file; the value has at
    /// least min_bypass_cookie_value characters.
    std::string bypass_cookie_name;
    std::string bypass_cookie_value;
};

enum class log_level { debug, info, warning, error };
enum class access_log_format { combined, json };

/// The event log's level and the access log ([log]).
struct log_config {
    log_level level = log_level::info;
    std::string access = "stdout";               ///< "off", "stdout", "stderr" or a file path (reopened on SIGUSR1)
    access_log_format access_format = access_log_format::combined;
};

/// Prometheus metrics ([metrics]).
struct metrics_config {
    bool enabled = true;                         ///< false: the request path counts nothing and /metrics is 404
    bool own_listener = false;                   ///< true when `listen` is set
    socket_address listen;                       ///< its own listener; otherwise /metrics is on the admin listener
    bool require_token = false;                  ///< /metrics needs the admin token too
};

/// gzip of node answers on their way to the client ([compression]; README, Compression and streaming).
struct compression_config {
    bool enabled = true;  ///< NocoBase's own Nginx ships `gzip on` for its API JSON, which the node does not compress
    /// Media types compressed: exact ("application/json") or a whole top-level type ("text/*"), lower case.
    std::vector<std::string> types{"text/*",
                                   "application/json",
                                   "application/javascript",
                                   "application/x-javascript",
                                   "application/xml",
                                   "application/manifest+json",
                                   "application/ld+json",
                                   "application/wasm",
                                   "image/svg+xml"};
    std::uint64_t min_length = 1024;  ///< answers with a smaller Content-Length are sent as they are
    int level = 1;                    ///< zlib level 1-9 (1: most of the saving for a fraction of the CPU)
};

/// Mozilla's "intermediate" TLS 1.2 cipher list (ssl-config.mozilla.org, guideline 5.7): forward secrecy and AEAD
/// only. TLS 1.3 suites are OpenSSL's default three.
inline constexpr const char* intermediate_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* default_ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// One certificate chain (PEM) and its private key, paths resolved against the configuration file's directory.
struct tls_certificate {
    std::string cert;
    std::string key;
    std::string ocsp_response;  ///< DER OCSP response to staple, kept fresh by the operator; "" = no stapling
};

/// TLS termination ([tls]); the certificates themselves are read by tls::load_server_tls (not here).
struct tls_config {
    std::vector<socket_address> listen;          ///< TLS listeners; empty = none
    tls_certificate default_certificate;         ///< cert/key: for unknown or absent SNI
    std::vector<tls_certificate> certificates;   ///< [[tls.certificate]]: chosen by SNI (their DNS names)
    std::string ciphers = intermediate_ciphers;  ///< TLS 1.2
    std::string ciphersuites = default_ciphersuites;  ///< TLS 1.3
    std::string hsts;                            ///< Strict-Transport-Security value on TLS answers ("" = none)
    bool direct_io = true;  ///< OpenSSL on the client socket itself (proxy/tls_stream.hpp); false = Asio's ssl::stream
    bool enabled() const noexcept { return !listen.empty(); }
};

/// Replicas that share the operator state through Redis ([cluster]; README, Replicas).
struct cluster_config {
    bool enabled = false;             ///< redis_url is set
    std::string redis_url;            ///< as written: "redis://[[user]:password@]host[:port][/db]"
    std::string redis_host;           ///< resolved by the Redis thread (never on the control thread or a worker)
    std::uint16_t redis_port = 6379;
    std::string redis_user;           ///< "" = AUTH with the password alone
    std::string redis_password;       ///< "" = no AUTH. Never logged.
    unsigned redis_db = 0;            ///< SELECTed after connecting
    std::string key = "gatehouse:operator_state";  ///< the Redis key holding the state
    std::string channel;              ///< where changes are published; "" = key + ":changes"
    std::string name;                 ///< this replica, as the writer of a change; "" = "<hostname>:<first listen port>"
    duration timeout{std::chrono::seconds(1)};    ///< connecting and each command
    duration retry_max{std::chrono::seconds(5)};  ///< the reconnect backoff doubles from 250 ms up to this
};

struct config {
    std::string source;   ///< file the configuration was read from ("<inline>" or the origin given for text)
    proxy_config proxy;
    upstream_config upstream;
    timeouts_config timeouts;
    limits_config limits;
    health_check_config health_check;
    admin_config admin;
    maintenance_config maintenance;
    log_config log;
    metrics_config metrics;
    compression_config compression;
    tls_config tls;
    cluster_config cluster;
    resolver_config resolver;
};

}  // namespace gatehouse::config
