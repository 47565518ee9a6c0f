// The admin token rule (a token unless admin.allow_no_token) and the token file created at first start.
#include <gatehouse/config/admin_token.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gatehouse::config {

admin_token_status admin_token_status_of(const admin_config& admin) {
    if (!admin.enabled) return admin_token_status::not_needed;
    if (!admin.token.empty()) return admin_token_status::present;
    if (admin.token_file_missing) return admin_token_status::file_to_create;
    return admin.allow_no_token ? admin_token_status::open_by_choice : admin_token_status::missing;
}

config_problem missing_admin_token_problem(const config& c) {
    const std::string env = c.admin.token_env.empty() ? std::string("(none)") : c.admin.token_env;
    return {c.source, 0, 0, "admin",
            "no admin token: the admin API on " + c.admin.listen.text +
                " needs one. Set admin.token_file (gatehouse serve creates the file, mode 0600, at first start), or "
                "the environment variable named by admin.token_env (" + env +
                "), or admin.allow_no_token = true to let every local process use the admin API without a token"};
}

std::optional<config_problem> admin_token_problem(const config& c, bool file_to_create_is_a_problem) {
    switch (admin_token_status_of(c.admin)) {
    case admin_token_status::missing: return missing_admin_token_problem(c);
    case admin_token_status::file_to_create:
        if (!file_to_create_is_a_problem) return std::nullopt;
        return config_problem{c.source, 0, 0, "admin.token_file",
                              "'" + c.admin.token_path + "' does not exist (gatehouse serve creates it at start)"};
    default: return std::nullopt;
    }
}

namespace {

bool fill_random(unsigned char* out, std::size_t size) {
    std::size_t got = 0;
    for (int attempt = 0; got < size && attempt < 100; ++attempt) {
        const auto n = ::getrandom(out + got, size - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += static_cast<std::size_t>(n);
    }
    return got == size;
}

bool write_all(int fd, const std::string& text) {
    std::size_t written = 0;
    while (written < text.size()) {
        const auto n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        written += static_cast<std::size_t>(n);
    }
    return ::fsync(fd) == 0;
}

}  // namespace

token_file_result create_token_file(const std::string& path) {
    unsigned char bytes[32];
    if (!fill_random(bytes, sizeof bytes))
        return {token_file_error::no_randomness, std::string("getrandom: ") + std::strerror(errno), {}};
    static constexpr char hex[] = "0123456789abcdef";
    std::string token;
    for (unsigned char b : bytes) token.append({hex[b >> 4], hex[b & 15]});
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return {errno == EEXIST ? token_file_error::exists : token_file_error::cannot_create, std::strerror(errno), {}};
    // The mode given to open() is narrowed by the umask only, never widened; fchmod makes it exactly 0600.
    const bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, token + "\n");
    const int error = errno;
    if (::close(fd) != 0 || !ok) {
        ::unlink(path.c_str());
        return {token_file_error::cannot_write, std::strerror(ok ? errno : error), {}};
    }
    return {token_file_error::none, {}, std::move(token)};
}

std::string create_missing_token_file(admin_config& admin) {
    if (!admin.enabled || !admin.token_file_missing) return "";
    auto result = create_token_file(admin.token_path);
    if (result.error != token_file_error::none)
        return "admin.token_file: cannot create '" + admin.token_path + "': " + result.detail;
    admin.token = std::move(result.token);
    admin.token_file_missing = false;
    admin.token_origin = "file " + admin.token_path + " (created now)";
    return "";
}

}  // namespace gatehouse::config
