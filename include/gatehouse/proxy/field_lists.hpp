// Reading comma-separated header values (RFC 9110 §5.6.1): optional whitespace trimmed, empty elements skipped.
#pragma once

#include <string_view>

namespace gatehouse::proxy {

/// `s` without leading and trailing spaces and tabs.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Calls `visit(element)` for each non-empty, trimmed element of a comma-separated list; stops early when
/// `visit` returns false. Returns false when it stopped early.
template <class Visit>
constexpr bool for_each_list_element(std::string_view list, Visit visit) {
    while (true) {
        const auto comma = list.find(',');
        const auto element = trim_ows(list.substr(0, comma));
        if (!element.empty() && !visit(element)) return false;
        if (comma == std::string_view::npos) return true;
        list.remove_prefix(comma + 1);
    }
}

/// The first line of the known field `name` in `fields` (a Beast header), or "" when there is none: what
/// `fields[name]` returns, found by a pass over the fields in order comparing enums. Beast 1.81's `operator[]` turns
/// the enum back into a string and compares strings case-insensitively at each level of its tree, several times
/// dearer on a head of a dozen fields. `name` must not be `field::unknown`.
template <class Fields, class Field>
std::string_view first_value(const Fields& fields, Field name) noexcept {
    for (const auto& f : fields)
        if (f.name() == name) return f.value();
    return {};
}

}  // namespace gatehouse::proxy
