// Reading values that may come from files named in the configuration: the admin token and the bypass cookie.
#include "read_secrets.hpp"

#include "bypass_cookie.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <sys/stat.h>

namespace gatehouse::config::detail {
namespace {

/// A bearer token: visible ASCII only, so it fits an Authorization header unchanged.
bool valid_token(std::string_view token) {
    return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string_view trim_line_ends(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

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

void read_admin(reader& r, const toml::table& root, const std::string& origin, admin_config& out) {
    const std::string path = "admin";
    const auto* t = r.section(root, path, {"listen", "token_env", "token_file", "allow_no_token"});
    if (t) {
        if (const auto* node = t->get("listen"); node && node->is_string() && node->as_string()->get().empty()) {
            out.enabled = false;
        } else if (auto v = r.address(*t, "listen", path)) {
            out.listen = std::move(*v);
        }
        if (auto v = r.string(*t, "token_env", path)) out.token_env = *v;
        if (auto v = r.string(*t, "token_file", path)) out.token_file = *v;
        if (auto v = r.boolean(*t, "allow_no_token", path)) out.allow_no_token = *v;
        if (t->contains("token_env") && t->contains("token_file"))
            r.problem(t->get("token_file")->source(), "admin.token_file",
                      "set either token_env or token_file, not both");
    }
    if (!out.token_file.empty()) {
        const std::string file = relative_to(origin, out.token_file);
        const auto& where = t->get("token_file")->source();
        out.token_path = file;
        std::string text;
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0 && errno == ENOENT) {
            out.token_file_missing = true;  // `gatehouse serve` creates it; check and reload say so
        } else if (auto error = read_whole_file(file, text, 4096); !error.empty()) {
            r.problem(where, "admin.token_file", "cannot read '" + file + "': " + error);
        } else if (const auto token = trim_line_ends(text); !valid_token(token)) {
            r.problem(where, "admin.token_file",
                      "'" + file + "' must hold one token of visible ASCII characters (no spaces)");
        } else {
            out.token = std::string(token);
            out.token_origin = "file " + file;
        }
    } else if (!out.token_env.empty()) {
        const char* value = std::getenv(out.token_env.c_str());
        if (value && *value) {
            if (!valid_token(value)) {
                r.problem(t && t->contains("token_env") ? t->get("token_env")->source() : toml::source_region{},
                          "admin.token_env",
                          "the environment variable " + out.token_env +
                              " must hold one token of visible ASCII characters (no spaces)");
            } else {
                out.token = value;
                out.token_origin = "environment variable " + out.token_env;
            }
        }
    }
}

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

}  // namespace gatehouse::config::detail
