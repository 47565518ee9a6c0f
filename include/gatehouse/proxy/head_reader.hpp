// Reading a request head as its bytes arrive: where it ends, what to skip before it, and why it is refused.
#pragma once

#include <gatehouse/proxy/head_scan.hpp>

#include <gatehouse/net.hpp>

#include <boost/beast/http/status.hpp>

#include <cstddef>
#include <string_view>

namespace gatehouse::proxy {

/// What the bytes received so far come to.
struct head_progress {
    head_scan_status status = head_scan_status::need_more;
    std::size_t skip = 0;         ///< leading empty lines: drop this many bytes from the front, then keep reading
    std::size_t head_length = 0;  ///< with status complete: the head's bytes after `skip`
};

/// The answer to a refused head.
struct head_rejection {
    http::status status;
    std::string_view reason;  ///< for the log and the error answer's detail
};

/// Drives scan_request_head over a buffer that grows read after read (the session's and the fuzzer's loop): skips
/// empty lines before the request line, waits for the LF of a lone CR, and never scans a byte twice. Pure.
class request_head_reader {
public:
    explicit request_head_reader(std::size_t max_head) noexcept : max_head_(max_head) {}

    /// `bytes`: everything received so far, from the start of the head (after the skips earlier calls asked for).
    head_progress next(std::string_view bytes) noexcept;

private:
    std::size_t max_head_;
    std::size_t scanned_ = 0;
};

/// The status and reason for a refused head (any status but complete and need_more).
head_rejection rejection_of(head_scan_status status) noexcept;

}  // namespace gatehouse::proxy
