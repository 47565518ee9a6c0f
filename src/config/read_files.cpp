// Files the configuration names: read whole, found relative to the configuration; the [maintenance] section.
#include "read_files.hpp"

#include "bypass_cookie.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

namespace gatehouse::config::detail {

std::string read_whole_file(const std::string& path, std::string& out, std::size_t limit) {
    std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
    if (!file) return std::strerror(errno);
    out.clear();
    char buffer[64 * 1024];
    while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
        out.append(buffer, n);
        if (out.size() > limit) return "larger than " + size_text(limit);
    }
    if (std::ferror(file.get())) return std::strerror(errno);
    return "";
}

std::string relative_to(std::string_view origin, const std::string& path) {
    if (path.empty() || path.front() == '/') return path;
    const auto slash = origin.rfind('/');
    if (slash == std::string_view::npos || origin.starts_with('<')) return path;
    return std::string(origin.substr(0, slash + 1)) + path;
}

std::string_view trim_line_ends(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

namespace {

/// maintenance.bypass_cookie, or the first line of maintenance.bypass_cookie_file (relative to the configuration).
void read_bypass_cookie(reader& r, const toml::table& t, const std::string& origin, maintenance_config& out) {
    const std::string path = "maintenance";
    auto inline_value = r.string(t, "bypass_cookie", path);
    auto file = r.string(t, "bypass_cookie_file", path);
    if (inline_value && !inline_value->empty() && file && !file->empty()) {
        r.problem(t.get("bypass_cookie_file")->source(), "maintenance.bypass_cookie_file",
                  "set either bypass_cookie or bypass_cookie_file, not both");
        return;
    }
    std::string text, key = "maintenance.bypass_cookie", where_text = "";
    const toml::node* node = t.get("bypass_cookie");
    if (file && !file->empty()) {
        key = "maintenance.bypass_cookie_file";
        node = t.get("bypass_cookie_file");
        const std::string resolved = relative_to(origin, *file);
        std::string contents;
        if (auto error = read_whole_file(resolved, contents, 4096); !error.empty()) {
            r.problem(node->source(), key, "cannot read '" + resolved + "': " + error);
            return;
        }
        text = std::string(trim_line_ends(contents));
        where_text = "'" + resolved + "' must hold ";
    } else if (inline_value && !inline_value->empty()) {
        text = *inline_value;
    } else {
        return;
    }
    switch (parse_bypass_cookie(text, out.bypass_cookie_name, out.bypass_cookie_value)) {
    case cookie_problem::none: return;
    case cookie_problem::malformed:
        r.problem(node->source(), key,
                  (where_text.empty() ? "expected " : where_text) +
                      "\"name=value\" (a cookie name, '=', and a value without spaces, ';' or ',')");
        return;
    case cookie_problem::too_short:
        r.problem(node->source(), key,
                  "the cookie's value must be at least " + std::to_string(min_bypass_cookie_value) +
                      " characters: it is a password (e.g. the output of `openssl rand -hex 16`)");
        return;
    }
}

}  // namespace

void read_maintenance(reader& r, const toml::table& root, const std::string& origin, maintenance_config& out) {
    const std::string path = "maintenance";
    const auto* t = r.section(root, path, {"page", "retry_after", "state_file", "bypass_cidrs", "bypass_cookie",
                                           "bypass_cookie_file"});
    if (!t) return;
    if (auto v = r.string(*t, "page", path); v && !v->empty()) {
        out.page = relative_to(origin, *v);
        if (auto error = read_whole_file(out.page, out.page_html, 1024 * 1024); !error.empty())
            r.problem(t->get("page")->source(), "maintenance.page", "cannot read '" + out.page + "': " + error);
    }
    if (auto v = r.duration(*t, "retry_after", path)) out.retry_after = *v;
    if (auto v = r.string(*t, "state_file", path)) out.state_file = relative_to(origin, *v);
    if (auto v = r.cidrs(*t, "bypass_cidrs", path)) out.bypass_cidrs = std::move(*v);
    read_bypass_cookie(r, *t, origin, out);
}

}  // namespace gatehouse::config::detail
