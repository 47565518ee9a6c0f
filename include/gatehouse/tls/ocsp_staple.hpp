// OCSP stapling from a file the operator keeps fresh ([tls] ocsp_response): read, checked, sent to clients that ask.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <string>
#include <vector>

namespace gatehouse::tls {

/// What reading an OCSP response file found: the DER bytes to staple (empty when it must not be stapled),
/// `problem` (the file is unusable: unreadable, not an OCSP response, not "successful", not about the certificate)
/// or `warning` (usable but out of date: not stapled, a stale answer would make clients distrust the certificate).
struct ocsp_read {
    std::vector<unsigned char> der;
    std::string problem;
    std::string warning;
};

/// Reads the DER OCSP response at `path` (as `openssl ocsp -respout` writes it) for the leaf certificate `leaf`.
ocsp_read read_ocsp_response(const std::string& path, X509* leaf, std::chrono::system_clock::time_point now);

/// Staples `der` (which must outlive the context's connections) on every handshake of `ctx` whose client asks for
/// the certificate's status (status_request); clients that do not ask get nothing.
void staple_ocsp(SSL_CTX* ctx, const std::vector<unsigned char>* der);

}  // namespace gatehouse::tls
