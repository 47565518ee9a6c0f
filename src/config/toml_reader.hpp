// The TOML reader behind load_config: typed getters that record every problem with file, line, column and key.
// Private to src/config (toml++ appears in no public header).
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/config/load.hpp>
#include <gatehouse/config/units.hpp>

#include <toml++/toml.h>

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace gatehouse::config::detail {

// ---- small text helpers ----

inline std::string type_name(toml::node_type type) {
    static constexpr const char* names[] = {"nothing", "table",   "array", "string", "integer",
                                            "float",   "boolean", "date",  "time",   "date-time"};
    const auto index = static_cast<std::size_t>(type);
    return index < std::size(names) ? names[index] : "unknown";
}

inline std::string child_path(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

inline std::string index_path(std::string_view path, std::size_t index) {
    return std::string(path) + "[" + std::to_string(index) + "]";
}

inline std::string comma_list(std::initializer_list<std::string_view> names) {
    std::string out;
    for (auto name : names) out.append(out.empty() ? "" : ", ").append(name);
    return out;
}

/// 16384 -> "16KiB"; sizes that are not whole KiB/MiB/GiB stay in bytes.
inline std::string size_text(std::uint64_t bytes) {
    static constexpr std::pair<std::uint64_t, std::string_view> units[] = {
        {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
    for (auto [factor, suffix] : units)
        if (bytes != 0 && bytes % factor == 0) return std::to_string(bytes / factor) + std::string(suffix);
    return std::to_string(bytes);
}

// ---- addresses ----

struct addrinfo_deleter {
    void operator()(addrinfo* list) const noexcept { freeaddrinfo(list); }
};

/// Fills out.ip/is_v6 from an IP literal or a host name (first IPv4 result, else first IPv6); a bracketed
/// host must be an IPv6 literal. Returns an error message or "".
inline std::string resolve_host(const std::string& host, bool bracketed, socket_address& out) {
    addrinfo hints{};
    hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = bracketed ? AI_NUMERICHOST : 0;
    addrinfo* raw = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
    std::unique_ptr<addrinfo, addrinfo_deleter> list(raw);
    if (rc != 0 && bracketed) return "'" + host + "' is not an IPv6 address";
    if (rc != 0) return "cannot resolve host '" + host + "': " + gai_strerror(rc);
    for (int family : {AF_INET, AF_INET6}) {
        for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
            char numeric[NI_MAXHOST] = {};
            if (a->ai_family != family ||
                getnameinfo(a->ai_addr, a->ai_addrlen, numeric, sizeof numeric, nullptr, 0, NI_NUMERICHOST) != 0)
                continue;
            out.ip = numeric;
            out.is_v6 = family == AF_INET6;
            return "";
        }
    }
    return "cannot resolve host '" + host + "': no IPv4 or IPv6 address";
}

/// Parses "host:port" ("1.2.3.4:80", "[::1]:80", "name:80"); returns an error message or "".
inline std::string parse_address(std::string_view text, socket_address& out) {
    const std::string quoted = "'" + std::string(text) + "'";
    const std::string expected = " (expected host:port, e.g. \"127.0.0.1:13000\" or \"[::1]:13000\")";
    std::string_view host, port;
    const bool bracketed = text.starts_with('[');
    if (bracketed) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return "missing ']' in " + quoted + expected;
        host = text.substr(1, close - 1);
        if (text.substr(close + 1, 1) != ":") return "missing port in " + quoted + expected;
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return "missing port in " + quoted + expected;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return "an IPv6 address needs brackets: " + quoted + expected;
    }
    if (host.empty()) return "missing host in " + quoted + expected;

    unsigned number = 0;  // from_chars into unsigned rejects "", "-1" and "+1"
    const char* port_end = port.data() + port.size();
    auto [end, ec] = std::from_chars(port.data(), port_end, number);
    if (ec != std::errc{} || end != port_end || number < 1 || number > 65535)
        return "invalid port '" + std::string(port) + "' in " + quoted + " (expected 1-65535)";

    out = socket_address{std::string(text), "", static_cast<std::uint16_t>(number), bracketed};
    return resolve_host(std::string(host), bracketed, out);
}

// ---- the reader ----

enum class presence { optional, required };

/// Walks TOML tables for one origin, converting values and accumulating every problem found.
class reader {
public:
    explicit reader(std::string origin) : origin_(std::move(origin)) {}

    /// Records a problem at `where` (line 0 when the region has no position).
    void problem(const toml::source_region& where, std::string key, std::string message) {
        problems_.push_back({origin_, where.begin.line, where.begin.column, std::move(key), std::move(message)});
    }

    /// Throws config_error with every problem, in file order, if there is any.
    void finish() {
        if (problems_.empty()) return;
        std::stable_sort(problems_.begin(), problems_.end(), [](const auto& a, const auto& b) {
            return std::tuple(a.line == 0, a.line, a.column) < std::tuple(b.line == 0, b.line, b.column);
        });
        throw config_error(std::move(problems_));
    }

    /// `value` as a table whose keys must all be in `allowed`; nullptr (reported) when it is not a table.
    const toml::table* table(const toml::node& value, const std::string& path,
                             std::initializer_list<std::string_view> allowed) {
        const auto* t = value.as_table();
        if (!t) {
            wrong_type(value, path, "a table");
            return nullptr;
        }
        for (const auto& [key, item] : *t) {
            if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
            const bool top = path.empty();
            problem(key.source().begin.line != 0 ? key.source() : item.source(), child_path(path, key.str()),
                    std::string("unknown ") + (top && item.is_table() ? "table" : "key") + " '" +
                        std::string(key.str()) + "' (allowed " + (top ? "at the top level" : "here") + ": " +
                        comma_list(allowed) + ")");
        }
        return t;
    }

    /// The sub-table `key` of `parent` (see above), or nullptr when absent.
    const toml::table* table(const toml::table& parent, std::string_view key, std::string_view path,
                             std::initializer_list<std::string_view> allowed) {
        const auto* value = find(parent, key, path, presence::optional);
        return value ? table(*value, child_path(path, key), allowed) : nullptr;
    }

    /// The top-level table `name` (see above), or nullptr when absent.
    const toml::table* section(const toml::table& root, std::string_view name,
                               std::initializer_list<std::string_view> allowed) {
        return table(root, name, "", allowed);
    }

    /// The array `key` of `parent`, or nullptr when absent or (reported) not an array.
    const toml::array* array(const toml::table& parent, std::string_view key, std::string_view path,
                             std::string_view expected = "an array") {
        const auto* value = find(parent, key, path, presence::optional);
        if (value && !value->is_array()) wrong_type(*value, child_path(path, key), expected);
        return value ? value->as_array() : nullptr;
    }

    std::optional<std::string> string(const toml::table& t, std::string_view key, std::string_view path,
                                      presence need = presence::optional) {
        const auto* value = find(t, key, path, need);
        return value ? string_value(*value, child_path(path, key)) : std::nullopt;
    }

    /// An integer within [min, max].
    std::optional<std::int64_t> integer(const toml::table& t, std::string_view key, std::string_view path,
                                        std::int64_t min, std::int64_t max) {
        const auto* value = find(t, key, path, presence::optional);
        if (!value) return std::nullopt;
        if (!value->is_integer()) return wrong_type(*value, child_path(path, key), "an integer");
        const std::int64_t n = value->as_integer()->get();
        if (n >= min && n <= max) return n;
        return invalid(*value, child_path(path, key),
                       "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                           std::to_string(n));
    }

    std::optional<bool> boolean(const toml::table& t, std::string_view key, std::string_view path) {
        const auto* value = find(t, key, path, presence::optional);
        if (!value) return std::nullopt;
        if (!value->is_boolean()) return wrong_type(*value, child_path(path, key), "a boolean");
        return value->as_boolean()->get();
    }

    /// An array of HTTP statuses: integers (200) or "low-high" strings ("200-399").
    std::optional<std::vector<status_range>> status_ranges(const toml::table& t, std::string_view key,
                                                           std::string_view path) {
        const auto* list = array(t, key, path);
        if (!list) return std::nullopt;
        std::vector<status_range> out;
        for (std::size_t i = 0; i < list->size(); ++i) {
            const auto& item = *list->get(i);
            const std::string item_path = child_path(path, key) + "[" + std::to_string(i) + "]";
            unsigned low = 0, high = 0;
            if (const auto* n = item.as_integer()) {
                low = high = static_cast<unsigned>(std::clamp<std::int64_t>(n->get(), 0, 1000));
            } else if (const auto* text = item.as_string()) {
                const std::string& v = text->get();
                const auto dash = v.find('-');
                try {
                    low = static_cast<unsigned>(std::stoul(v.substr(0, dash)));
                    high = dash == std::string::npos ? low : static_cast<unsigned>(std::stoul(v.substr(dash + 1)));
                } catch (const std::exception&) {
                    low = high = 0;
                }
            } else {
                wrong_type(item, item_path, "a status (200) or a range (\"200-399\")");
                continue;
            }
            if (low < 100 || high > 599 || low > high) {
                invalid(item, item_path, "must be a status or range between 100 and 599");
                continue;
            }
            out.push_back({low, high});
        }
        if (out.empty() && list->empty()) invalid(*t.get(key), child_path(path, key), "must not be empty");
        return out;
    }

    /// One of `choices`, written as its name.
    template <class E>
    std::optional<E> choice(const toml::table& t, std::string_view key, std::string_view path,
                            std::initializer_list<std::pair<std::string_view, E>> choices) {
        auto text = string(t, key, path);
        if (!text) return std::nullopt;
        std::string names;
        for (const auto& [name, value] : choices) {
            if (name == *text) return value;
            names.append(names.empty() ? "" : ", ").append(name);
        }
        return invalid(*t.get(key), child_path(path, key), "unknown value '" + *text + "' (allowed: " + names + ")");
    }

    /// A duration string; `positive` rejects "0".
    std::optional<gatehouse::config::duration> duration(const toml::table& t, std::string_view key,
                                                        std::string_view path, bool positive = false) {
        const auto* value = find(t, key, path, presence::optional);
        if (!value) return std::nullopt;
        auto parsed = parsed_value(*value, child_path(path, key), parse_duration, "duration",
                                   "an integer with ms, s, m or h, e.g. \"10s\"");
        if (parsed && positive && parsed->count() == 0)
            return invalid(*value, child_path(path, key), "must be greater than 0");
        return parsed;
    }

    /// A size string within [min, max] bytes.
    std::optional<std::uint64_t> size(const toml::table& t, std::string_view key, std::string_view path,
                                      std::uint64_t min = 0,
                                      std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
        const auto* value = find(t, key, path, presence::optional);
        if (!value) return std::nullopt;
        auto parsed = parsed_value(*value, child_path(path, key), parse_size, "size",
                                   "e.g. \"512\", \"16KiB\", \"1MiB\", \"1GiB\"");
        if (parsed && (*parsed < min || *parsed > max))
            return invalid(*value, child_path(path, key),
                           "must be between " + size_text(min) + " and " + size_text(max) + ", got '" +
                               *value->value<std::string>() + "'");
        return parsed;
    }

    /// A "host:port" string, resolved to a numeric address.
    std::optional<socket_address> address(const toml::table& t, std::string_view key, std::string_view path,
                                          presence need = presence::optional) {
        const auto* value = find(t, key, path, need);
        return value ? address_value(*value, child_path(path, key)) : std::nullopt;
    }

    /// An array of "host:port" strings.
    std::optional<std::vector<socket_address>> addresses(const toml::table& t, std::string_view key,
                                                         std::string_view path) {
        return list<socket_address>(t, key, path, &reader::address_value);
    }

    /// An array of strings.
    std::optional<std::vector<std::string>> strings(const toml::table& t, std::string_view key, std::string_view path) {
        return list<std::string>(t, key, path, &reader::string_value);
    }

    /// An array of CIDR strings.
    std::optional<std::vector<cidr>> cidrs(const toml::table& t, std::string_view key, std::string_view path) {
        return list<cidr>(t, key, path, &reader::cidr_value);
    }

private:
    /// `parent[key]`; a missing required key is reported at the enclosing table (line 0 for the top level).
    const toml::node* find(const toml::table& parent, std::string_view key, std::string_view path, presence need) {
        const toml::node* value = parent.get(key);
        if (!value && need == presence::required)
            problem(path.empty() ? toml::source_region{} : parent.source(), child_path(path, key), "is required");
        return value;
    }

    /// Reports `message` at `value`; returns nullopt so callers can `return invalid(...)`.
    std::nullopt_t invalid(const toml::node& value, const std::string& path, std::string message) {
        problem(value.source(), path, std::move(message));
        return std::nullopt;
    }

    std::nullopt_t wrong_type(const toml::node& value, const std::string& path, std::string_view expected) {
        return invalid(value, path, "expected " + std::string(expected) + ", got " + type_name(value.type()));
    }

    std::optional<std::string> string_value(const toml::node& value, const std::string& path) {
        if (const auto* s = value.as_string()) return s->get();
        return wrong_type(value, path, "a string");
    }

    /// A string converted by `parse`; a malformed one is reported as "invalid <what> '<text>' (expected <hint>)".
    template <class Parse>
    auto parsed_value(const toml::node& value, const std::string& path, Parse parse, std::string_view what,
                      std::string_view hint) -> decltype(parse(std::string_view{})) {
        auto text = string_value(value, path);
        if (!text) return std::nullopt;
        if (auto parsed = parse(*text)) return parsed;
        return invalid(value, path, "invalid " + std::string(what) + " '" + *text + "' (expected " +
                                        std::string(hint) + ")");
    }

    std::optional<cidr> cidr_value(const toml::node& value, const std::string& path) {
        return parsed_value(value, path, parse_cidr, "CIDR", "e.g. \"10.0.0.0/8\", \"fd00::/8\" or \"192.0.2.7\"");
    }

    std::optional<socket_address> address_value(const toml::node& value, const std::string& path) {
        auto text = string_value(value, path);
        if (!text) return std::nullopt;
        socket_address out;
        if (auto error = parse_address(*text, out); !error.empty()) return invalid(value, path, std::move(error));
        return out;
    }

    template <class T>
    std::optional<std::vector<T>> list(const toml::table& t, std::string_view key, std::string_view path,
                                       std::optional<T> (reader::*item)(const toml::node&, const std::string&)) {
        const auto* items = array(t, key, path);
        if (!items) return std::nullopt;
        std::vector<T> out;
        for (std::size_t i = 0; i < items->size(); ++i)
            if (auto v = (this->*item)(*items->get(i), index_path(child_path(path, key), i))) out.push_back(*v);
        return out;
    }

    std::string origin_;
    std::vector<config_problem> problems_;
};

}  // namespace gatehouse::config::detail
