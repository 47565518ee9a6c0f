// Finds where a raw HTTP/1.1 request head ends, before any parser sees it, and rejects what must never be parsed.
#pragma once

#include <cstddef>
#include <string_view>

namespace gatehouse::proxy {

enum class head_scan_status {
    complete,        ///< head_length bytes (ending in CRLF CRLF) hold the whole head
    need_more,       ///< no end yet and still under the limit
    target_too_long, ///< the request line alone exceeds the limit: 414
    head_too_large,  ///< the head exceeds the limit: 431
    obs_fold,        ///< a header line continues on the next line (obsolete folding): 400
    bare_lf,         ///< a line ends in LF without CR: 400
    no_version,      ///< the request line has no HTTP version (HTTP/0.9's `GET /`): 400 at once
};

struct head_scan_result {
    head_scan_status status = head_scan_status::need_more;
    std::size_t head_length = 0;  ///< with status complete: bytes up to and including the final CRLF CRLF
};

/// Scans `bytes` (the start of a request head, leading empty lines already removed) for its end.
/// `scanned` is how many bytes an earlier call already looked at (they are not looked at again),
/// `max_head` the largest head accepted. Pure; O(new bytes).
head_scan_result scan_request_head(std::string_view bytes, std::size_t scanned, std::size_t max_head) noexcept;

/// How many bytes of empty lines (CRLF) precede the request line; RFC 9112 §2.2 lets a server skip them.
std::size_t leading_empty_lines(std::string_view bytes) noexcept;

}  // namespace gatehouse::proxy
