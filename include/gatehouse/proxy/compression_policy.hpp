// Whether a node's answer is gzipped on its way to the client: Accept-Encoding, the answer's type and framing, and the
// few header changes a compressed answer needs. Pure functions (README, Compression and streaming).
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/net.hpp>

#include <boost/beast/http/message.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::proxy {

/// How much a client wants gzip, from its Accept-Encoding: the q-value in thousandths (0 = refused).
/// No Accept-Encoding at all: 0 (such a client gets identity, as Nginx does). `gzip`/`x-gzip` name it; `*` counts
/// when gzip is not named. A malformed q-value refuses that entry.
unsigned gzip_quality(std::string_view accept_encoding) noexcept;

/// Why an answer is (not) compressed. `compress` is the only yes.
enum class compression_verdict {
    compress,
    disabled,          ///< compression.enabled = false
    no_body,           ///< 1xx, 204, 304: nothing to compress
    partial,           ///< 206 or a Content-Range: a byte range of the identity body
    already_encoded,   ///< the node set Content-Encoding
    event_stream,      ///< text/event-stream: each event must reach the client as written
    type_not_listed,   ///< no Content-Type, or one not in compression.types
    no_transform,      ///< Cache-Control: no-transform
    too_small,         ///< Content-Length below compression.min_length
    client_refuses,    ///< Accept-Encoding does not accept gzip (absent, or q=0)
};

/// A label for logs and tests, e.g. "client_refuses".
std::string_view to_string(compression_verdict v) noexcept;

/// The facts the decision reads, taken from the request and response heads.
struct compression_facts {
    unsigned status = 200;
    std::string_view accept_encoding;              ///< every Accept-Encoding line of the request, joined with ","
    std::string_view content_type;
    std::string_view content_encoding;
    bool content_range = false;                    ///< the answer carries a Content-Range
    std::string_view cache_control;                ///< every Cache-Control line of the answer, joined with ","
    std::optional<std::uint64_t> content_length;   ///< unknown (chunked, close-delimited): compressed
};

struct compression_decision {
    compression_verdict verdict = compression_verdict::disabled;
    /// The answer depends on Accept-Encoding (it is compressed, or only the client's choice kept it from being):
    /// `Vary: Accept-Encoding` goes with it so a cache keeps the two apart.
    bool vary = false;
    bool compress() const noexcept { return verdict == compression_verdict::compress; }
};

/// True when `content_type`'s media type (before any ';', case-insensitive) matches one of `types`
/// ("type/subtype" exactly, or "type/*").
bool compressible_type(std::string_view content_type, const std::vector<std::string>& types) noexcept;

/// The decision on the facts alone. A HEAD request is decided like a GET (its answer gets the same fields).
compression_decision decide_compression(const compression_facts& facts, const config::compression_config& cfg);

/// The decision for a node's answer `response` to `request` (gathers the facts, then decide_compression).
compression_decision decide_compression(const http::request_header<>& request,
                                        const http::response_header<>& response,
                                        const config::compression_config& cfg);

/// True when a Vary value already covers Accept-Encoding (lists it, or is "*").
bool vary_covers_accept_encoding(std::string_view vary) noexcept;

/// A strong ETag made weak (`"x"` -> `W/"x"`), as Nginx does for a compressed answer: the bytes differ from the
/// identity answer's. A weak one (or anything else) is returned as it is.
std::string weak_etag(std::string_view etag);

}  // namespace gatehouse::proxy
