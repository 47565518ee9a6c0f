// The WebSocket upgrade rules: which requests become tunnels, and which 101 answers switch.
#include <gatehouse/proxy/websocket_upgrade.hpp>

#include <gatehouse/proxy/field_lists.hpp>

#include <boost/beast/core/string.hpp>

#include <iterator>

namespace gatehouse::proxy {
namespace {

/// True when some line of field `f` lists `token` (case-insensitive).
template <class Fields>
bool lists_token(const Fields& fields, http::field f, std::string_view token) {
    for (auto [it, end] = fields.equal_range(f); it != end; ++it) {
        const bool found = !for_each_list_element(it->value(), [token](std::string_view element) {
            return !beast::iequals(element, token);
        });
        if (found) return true;
    }
    return false;
}

/// The only value of field `f`, or "" when it is absent or repeated.
std::string_view only_value(const http::request_header<>& head, http::field f) {
    const auto [first, end] = head.equal_range(f);
    if (first == end || std::next(first) != end) return {};
    return first->value();
}

bool base64_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/// A nonce of 16 bytes in base64: 22 characters and "==".
bool valid_key(std::string_view key) noexcept {
    key = trim_ows(key);
    if (key.size() != 24 || key.substr(22) != "==") return false;
    for (char c : key.substr(0, 22))
        if (!base64_char(c)) return false;
    return true;
}

}  // namespace

upgrade_request websocket_upgrade_of(const http::request_header<>& head, body_framing framing) noexcept {
    if (!lists_token(head, http::field::upgrade, "websocket")) return upgrade_request::none;
    if (head.method() != http::verb::get) return upgrade_request::not_get;
    if (head.version() < 11) return upgrade_request::http10;
    if (!lists_token(head, http::field::connection, "upgrade")) return upgrade_request::no_connection_token;
    if (!valid_key(only_value(head, http::field::sec_websocket_key))) return upgrade_request::bad_key;
    if (trim_ows(only_value(head, http::field::sec_websocket_version)).empty()) return upgrade_request::bad_version;
    if (framing != body_framing::none) return upgrade_request::with_body;
    return upgrade_request::websocket;
}

std::string_view to_string(upgrade_request r) noexcept {
    switch (r) {
    case upgrade_request::none:
    case upgrade_request::websocket: return "";
    case upgrade_request::not_get: return "not a GET";
    case upgrade_request::http10: return "HTTP/1.0";
    case upgrade_request::no_connection_token: return "Connection does not list upgrade";
    case upgrade_request::bad_key: return "no valid Sec-WebSocket-Key";
    case upgrade_request::bad_version: return "no Sec-WebSocket-Version";
    case upgrade_request::with_body: return "a request body";
    }
    return "";
}

bool switches_to_websocket(const http::response_header<>& head) noexcept {
    return head.result_int() == 101 && lists_token(head, http::field::upgrade, "websocket") &&
           lists_token(head, http::field::connection, "upgrade");
}

bool is_close_frame(std::string_view piece) noexcept {
    if (piece.size() < 2 || static_cast<unsigned char>(piece[0]) != 0x88) return false;
    const auto second = static_cast<unsigned char>(piece[1]);
    const std::size_t length = second & 0x7f;
    const std::size_t mask = (second & 0x80) ? 4 : 0;
    return length <= 125 && piece.size() == 2 + mask + length;
}

}  // namespace gatehouse::proxy
