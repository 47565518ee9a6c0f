// Raw request-head scanning: end of head, obsolete line folding, bare LF, size limits.
#include <gatehouse/proxy/head_scan.hpp>

#include <cstring>

namespace gatehouse::proxy {

namespace {

/// A request line has a method, a target and a version, separated by spaces; HTTP/0.9's `GET /` has no version
/// and no head to wait for, so it is rejected as soon as its line ends.
bool has_version_field(std::string_view line) noexcept {
    const auto first = line.find(' ');
    return first != std::string_view::npos && line.find(' ', first + 1) != std::string_view::npos;
}

}  // namespace

head_scan_result scan_request_head(std::string_view bytes, std::size_t scanned, std::size_t max_head) noexcept {
    // Re-examine the last 3 bytes of the earlier scan: a CRLF CRLF may straddle two reads.
    std::size_t i = scanned > 3 ? scanned - 3 : 0;
    const std::size_t limit = bytes.size() < max_head ? bytes.size() : max_head;
    bool request_line_seen = i > 0 && std::memchr(bytes.data(), '\n', i) != nullptr;  // by an earlier call
    for (; i < limit; ++i) {
        if (bytes[i] != '\n') continue;
        if (i == 0 || bytes[i - 1] != '\r') return {head_scan_status::bare_lf, 0};
        if (!request_line_seen) {
            request_line_seen = true;
            if (!has_version_field(bytes.substr(0, i - 1))) return {head_scan_status::no_version, 0};
        }
        if (i + 1 >= bytes.size()) break;  // need the next byte to classify this line end
        const char next = bytes[i + 1];
        if (next == ' ' || next == '\t') return {head_scan_status::obs_fold, 0};
        if (next == '\r') {
            if (i + 2 >= bytes.size()) break;
            if (bytes[i + 2] != '\n') return {head_scan_status::bare_lf, 0};  // CR not followed by LF
            const std::size_t length = i + 3;
            if (length > max_head) return {head_scan_status::head_too_large, 0};
            return {head_scan_status::complete, length};
        }
    }
    if (bytes.size() >= max_head) {
        const bool request_line_complete = bytes.substr(0, max_head).find("\r\n") != std::string_view::npos;
        return {request_line_complete ? head_scan_status::head_too_large : head_scan_status::target_too_long, 0};
    }
    return {head_scan_status::need_more, 0};
}

std::size_t leading_empty_lines(std::string_view bytes) noexcept {
    std::size_t i = 0;
    while (i + 1 < bytes.size() && bytes[i] == '\r' && bytes[i + 1] == '\n') i += 2;
    return i;
}

}  // namespace gatehouse::proxy
