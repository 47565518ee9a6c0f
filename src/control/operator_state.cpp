// Operator state as JSON, and its crash-safe state file.
#include <gatehouse/control/operator_state.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gatehouse::control {
namespace json = boost::json;

std::string to_json(const operator_state& state) {
    json::object nodes;
    for (const auto& [name, admin] : state.nodes)
        if (admin != node_admin::active) nodes[name] = to_string(admin);
    json::object out{
        {"maintenance",
         json::object{{"enabled", state.maintenance.enabled},
                      {"reason", state.maintenance.reason},
                      {"since_unix_ms", state.maintenance.since_unix_ms},
                      {"verify_node", state.maintenance.verify_node}}},
        {"pinned_node", state.pinned_node},
        {"nodes", std::move(nodes)},
    };
    return json::serialize(out);
}

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::runtime_error(what); }

const json::object& object_at(const json::object& o, std::string_view key) {
    static const json::object empty;
    const auto* v = o.if_contains(key);
    if (!v) return empty;
    if (!v->is_object()) bad("'" + std::string(key) + "' must be an object");
    return v->get_object();
}

std::string string_at(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return {};
    if (!v->is_string()) bad("'" + std::string(key) + "' must be a string");
    return std::string(v->get_string());
}

}  // namespace

operator_state operator_state_from_json(std::string_view text) {
    json::error_code ec;
    const json::value root = json::parse(text, ec);
    if (ec) bad("not valid JSON: " + ec.message());
    if (!root.is_object()) bad("the top level must be an object");
    const auto& top = root.get_object();
    operator_state state;
    const auto& m = object_at(top, "maintenance");
    if (const auto* v = m.if_contains("enabled")) {
        if (!v->is_bool()) bad("'enabled' must be true or false");
        state.maintenance.enabled = v->get_bool();
    }
    state.maintenance.reason = string_at(m, "reason");
    if (const auto* v = m.if_contains("since_unix_ms")) {
        if (!v->is_int64() && !v->is_uint64()) bad("'since_unix_ms' must be an integer");
        state.maintenance.since_unix_ms = v->to_number<std::int64_t>();
    }
    state.maintenance.verify_node = string_at(m, "verify_node");
    state.pinned_node = string_at(top, "pinned_node");
    for (const auto& [name, value] : object_at(top, "nodes")) {
        const std::string admin = value.is_string() ? std::string(value.get_string()) : std::string();
        if (admin == "draining") state.nodes[std::string(name)] = node_admin::draining;
        else if (admin == "disabled") state.nodes[std::string(name)] = node_admin::disabled;
        else if (admin != "active") bad("node '" + std::string(name) + "': expected \"draining\" or \"disabled\"");
    }
    return state;
}

namespace {

/// Creates a new file next to `path` (`path.tmp-` plus 16 random hex digits) with O_CREAT|O_EXCL|O_NOFOLLOW and
/// mode 0600: nothing already there, a planted symlink included, is ever opened. Returns the descriptor (and the
/// name in `name`) or -1 with errno set.
int open_unique_temporary(const std::string& path, std::string& name) {
    static constexpr char hex[] = "0123456789abcdef";
    for (int attempt = 0; attempt < 16; ++attempt) {
        unsigned char bytes[8];
        if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
            if (errno == EINTR) continue;
            return -1;
        }
        name = path + ".tmp-";
        for (unsigned char b : bytes) name.append({hex[b >> 4], hex[b & 15]});
        const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

/// Writes all of `text` and syncs it; "" or the system's message.
std::string write_and_sync(int fd, const std::string& text) {
    std::size_t written = 0;
    while (written < text.size()) {
        const auto n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::strerror(n == 0 ? EIO : errno);
        written += static_cast<std::size_t>(n);
    }
    return ::fsync(fd) == 0 ? "" : std::strerror(errno);
}

}  // namespace

std::string save_state_file(const std::string& path, const operator_state& state) {
    namespace fs = std::filesystem;
    std::error_code fec;
    const fs::path target(path);
    if (target.has_parent_path()) fs::create_directories(target.parent_path(), fec);
    if (fec) return "cannot create " + target.parent_path().string() + ": " + fec.message();
    std::string temporary;
    const int fd = open_unique_temporary(path, temporary);
    if (fd < 0) return "cannot create a temporary file next to " + path + ": " + std::strerror(errno);
    std::string error = write_and_sync(fd, to_json(state) + "\n");
    if (::close(fd) != 0 && error.empty()) error = std::strerror(errno);
    if (!error.empty()) {
        ::unlink(temporary.c_str());
        return "cannot write " + temporary + ": " + error;
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        error = std::strerror(errno);
        ::unlink(temporary.c_str());
        return "cannot replace " + path + ": " + error;
    }
    // The rename is durable once the directory is synced.
    const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return "";
}

operator_state load_state_file(const std::string& path, bool& found) {
    found = false;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        if (errno == ENOENT) return {};
        throw std::runtime_error("state file " + path + ": cannot read: " + std::strerror(errno));
    }
    std::string text;
    char buffer[16 * 1024];
    while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, f)) {
        text.append(buffer, n);
        if (text.size() > 1024 * 1024) break;
    }
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) throw std::runtime_error("state file " + path + ": cannot read");
    found = true;
    try {
        return operator_state_from_json(text);
    } catch (const std::exception& e) {
        throw std::runtime_error("state file " + path + ": " + e.what());
    }
}

}  // namespace gatehouse::control
