// Reading a certificate's names and expiry (OpenSSL), and matching a TLS server name against them.
#include <gatehouse/tls/certificate.hpp>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

namespace gatehouse::tls {

namespace {

struct x509_free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct names_free {
    void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};
struct file_close {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::vector<std::string> dns_names_of(X509* cert) {
    std::vector<std::string> out;
    std::unique_ptr<GENERAL_NAMES, names_free> names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
        if (n->type != GEN_DNS) continue;
        const auto* data = ASN1_STRING_get0_data(n->d.dNSName);
        std::string name(reinterpret_cast<const char*>(data), static_cast<std::size_t>(ASN1_STRING_length(n->d.dNSName)));
        for (auto& c : name) c = lower(c);
        out.push_back(std::move(name));
    }
    return out;
}

}  // namespace

std::optional<certificate_facts> read_certificate(const std::string& path, std::string& error) {
    std::unique_ptr<std::FILE, file_close> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        error = std::string("cannot read file: ") + std::strerror(errno);
        return std::nullopt;
    }
    std::unique_ptr<X509, x509_free> cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        error = "no PEM certificate in it";
        return std::nullopt;
    }
    certificate_facts facts;
    facts.dns_names = dns_names_of(cert.get());
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) {
        error = "unreadable notAfter date";
        return std::nullopt;
    }
    facts.not_after = std::chrono::system_clock::from_time_t(timegm(&tm));
    return facts;
}

bool name_matches(std::string_view pattern, std::string_view host) noexcept {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // a fully qualified name
    if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
        const auto dot = host.find('.');
        if (dot == std::string_view::npos || dot == 0) return false;
        return iequal(host.substr(dot + 1), pattern.substr(2));
    }
    return iequal(pattern, host);
}

long days_left(std::chrono::system_clock::time_point not_after, std::chrono::system_clock::time_point now) noexcept {
    return static_cast<long>(std::chrono::floor<std::chrono::days>(not_after - now).count());
}

}  // namespace gatehouse::tls
