// Whether a configuration has the admin token it needs, and creating a random token file at first start.
#pragma once

#include <gatehouse/config/config.hpp>
#include <gatehouse/config/load.hpp>

#include <optional>
#include <string>

namespace gatehouse::config {

enum class admin_token_status {
    not_needed,      ///< no admin API (admin.listen = "")
    present,         ///< a token was read from admin.token_file or admin.token_env
    open_by_choice,  ///< no token, and admin.allow_no_token = true: loopback clients are served without one
    file_to_create,  ///< admin.token_file is set but does not exist: `gatehouse serve` creates it
    missing,         ///< no token and no opt-out: serve, check and reload refuse the configuration
};

admin_token_status admin_token_status_of(const admin_config& admin);

/// The problem reported for admin_token_status::missing, naming the keys that fix it.
config_problem missing_admin_token_problem(const config& c);

/// The problem `when` (a reload, a check) reports for file_to_create or missing; nullopt otherwise.
std::optional<config_problem> admin_token_problem(const config& c, bool file_to_create_is_a_problem);

enum class token_file_error { none, exists, cannot_create, no_randomness, cannot_write };

struct token_file_result {
    token_file_error error = token_file_error::none;
    std::string detail;  ///< the system's message when error != none
    std::string token;   ///< what was written (64 hex digits) when error == none
};

/// Creates `path` with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, holding 32 bytes from getrandom(2) as 64 hex digits
/// and a newline, synced to disk. Never replaces or follows anything already at `path`.
token_file_result create_token_file(const std::string& path);

/// When admin.token_file is missing, creates it and takes its token into `admin`. Returns "" on success (or when
/// there was nothing to create), else a message naming the file.
std::string create_missing_token_file(admin_config& admin);

}  // namespace gatehouse::config
