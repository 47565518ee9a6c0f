// What gatehouse checks in a certificate file before serving it: readable, a key that matches, not expired, its names.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::tls {

/// The leaf certificate of a PEM chain file, as read by read_certificate.
struct certificate_facts {
    std::vector<std::string> dns_names;  ///< subjectAltName DNS names, lower case (may start with "*.")
    std::chrono::system_clock::time_point not_after;
};

/// Reads the first certificate of the PEM file at `path`. On failure, `error` says why ("cannot read file: ...",
/// "no PEM certificate in it").
std::optional<certificate_facts> read_certificate(const std::string& path, std::string& error);

/// True when `host` (a TLS server name) is matched by `pattern`, a certificate DNS name: equal ignoring case, or
/// "*.example.com" matching exactly one label in front of "example.com" (RFC 6125 6.4.3: never "example.com"
/// itself, never "a.b.example.com").
bool name_matches(std::string_view pattern, std::string_view host) noexcept;

/// Whole days from `now` until `not_after` (negative once expired).
long days_left(std::chrono::system_clock::time_point not_after, std::chrono::system_clock::time_point now) noexcept;

}  // namespace gatehouse::tls
