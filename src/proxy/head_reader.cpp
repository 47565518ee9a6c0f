// The request head reader: scan_request_head driven over a growing buffer, and the answers to refused heads.
#include <gatehouse/proxy/head_reader.hpp>

namespace gatehouse::proxy {

head_progress request_head_reader::next(std::string_view bytes) noexcept {
    head_progress p;
    if (scanned_ == 0) {
        p.skip = leading_empty_lines(bytes);
        bytes.remove_prefix(p.skip);
    }
    // A lone CR may be half of an empty line before the request line: wait for its LF (scanned_ stays 0, so the
    // whole empty line is skipped by the next call).
    if (bytes.empty() || (scanned_ == 0 && bytes == "\r")) return p;
    const auto r = scan_request_head(bytes, scanned_, max_head_);
    p.status = r.status;
    p.head_length = r.head_length;
    if (r.status == head_scan_status::need_more) scanned_ = bytes.size();
    return p;
}

head_rejection rejection_of(head_scan_status status) noexcept {
    switch (status) {
    case head_scan_status::target_too_long: return {http::status::uri_too_long, "request line too long"};
    case head_scan_status::head_too_large:
        return {http::status::request_header_fields_too_large, "request head too large"};
    case head_scan_status::obs_fold: return {http::status::bad_request, "obsolete line folding in a header"};
    case head_scan_status::bare_lf: return {http::status::bad_request, "line not ended by CRLF"};
    case head_scan_status::no_version: return {http::status::bad_request, "request line without an HTTP version"};
    case head_scan_status::complete:
    case head_scan_status::need_more: break;
    }
    return {http::status::bad_request, "malformed request head"};
}

}  // namespace gatehouse::proxy
