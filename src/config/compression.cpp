// The [compression] section: which node answers gatehouse gzips on their way to the client.
#include "read_files.hpp"

#include <algorithm>

namespace gatehouse::config::detail {

namespace {

/// A media type as [compression] types takes it: "type/subtype" or "type/*", lower case, token characters only.
bool valid_media_type(std::string_view t) {
    const auto slash = t.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == t.size()) return false;
    const auto token_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' || c == '_';
    };
    const auto type = t.substr(0, slash);
    const auto subtype = t.substr(slash + 1);
    return std::all_of(type.begin(), type.end(), token_char) &&
           (subtype == "*" || std::all_of(subtype.begin(), subtype.end(), token_char));
}

}  // namespace

void read_compression(reader& r, const toml::table& root, compression_config& out) {
    const std::string path = "compression";
    const auto* t = r.section(root, path, {"enabled", "types", "min_length", "level"});
    if (!t) return;
    if (auto v = r.boolean(*t, "enabled", path)) out.enabled = *v;
    if (auto v = r.strings(*t, "types", path)) {
        const auto& where = t->get("types")->source();
        for (const auto& type : *v) {
            if (!valid_media_type(type))
                r.problem(where, "compression.types",
                          "'" + type + "' is not a lower-case media type such as \"application/json\" or \"text/*\"");
            else if (type == "text/event-stream")
                r.problem(where, "compression.types",
                          "text/event-stream is never compressed (each event must reach the client as it is written)");
        }
        out.types = std::move(*v);
    }
    if (auto v = r.size(*t, "min_length", path, 0, 1024ull * 1024 * 1024)) out.min_length = *v;
    if (auto v = r.integer(*t, "level", path, 1, 9)) out.level = static_cast<int>(*v);
}

}  // namespace gatehouse::config::detail
