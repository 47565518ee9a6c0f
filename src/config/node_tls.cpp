// TLS to the nodes in the configuration: "https://" node addresses and [upstream.tls] (CA, SNI, client key).
#include "node_tls.hpp"

#include "read_files.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace gatehouse::config::detail {

namespace {

constexpr std::size_t max_pem_file = 1024 * 1024;

struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct pkey_free {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, bio_free> memory_bio(const std::string& text) {
    return std::unique_ptr<BIO, bio_free>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

/// A server name as SNI carries it: letters, digits, '-' and '.', not an IP literal.
bool valid_server_name(std::string_view name) {
    constexpr std::string_view allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-";
    if (name.empty() || name.size() > 253 || name.find_first_not_of(allowed) != std::string_view::npos) return false;
    if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos) return false;
    return name.find_first_not_of("0123456789.") != std::string_view::npos;  // "10.0.0.1" is an IP, not a name
}

/// Reads the PEM file named by `key` (relative to the configuration) into `path`/`pem` and checks it with `check`.
template <class Check>
void read_pem_file(reader& r, const toml::table& t, std::string_view key, const std::string& origin,
                   std::string& path, std::string& pem, Check check) {
    auto v = r.string(t, key, "upstream.tls");
    if (!v || v->empty()) return;
    const std::string full_key = "upstream.tls." + std::string(key);
    path = relative_to(origin, *v);
    const auto& where = t.get(key)->source();
    if (auto error = read_whole_file(path, pem, max_pem_file); !error.empty()) {
        r.problem(where, full_key, "cannot read '" + path + "': " + error);
        return;
    }
    if (auto error = check(pem); !error.empty()) r.problem(where, full_key, "'" + path + "' " + error);
}

}  // namespace

std::string split_scheme(std::string_view& text, bool& tls) {
    tls = false;
    const auto sep = text.find("://");
    if (sep != std::string_view::npos) {
        const std::string_view scheme = text.substr(0, sep);
        if (scheme == "https") tls = true;
        else if (scheme != "http")
            return "unknown scheme '" + std::string(scheme) + "' (expected http:// or https://, or none)";
        text.remove_prefix(sep + 3);
    }
    if (text.ends_with('/')) text.remove_suffix(1);
    if (text.find('/') != std::string_view::npos)
        return "a node address has no path: '" + std::string(text) + "' (expected [https://]host:port)";
    return "";
}

std::string_view address_host(std::string_view host_port) noexcept {
    if (host_port.starts_with('[')) return host_port.substr(1, host_port.find(']') - 1);
    return host_port.substr(0, host_port.rfind(':'));
}

void read_node_address(reader& r, const toml::table& t, const std::string& path, node_config& node) {
    auto text = r.string(t, "address", path, presence::required);
    if (!text) return;
    const auto& where = t.get("address")->source();
    std::string_view rest = *text;
    if (auto error = split_scheme(rest, node.tls); !error.empty()) {
        r.problem(where, path + ".address", std::move(error));
        return;
    }
    if (auto error = parse_address(rest, node.address); !error.empty()) {
        r.problem(where, path + ".address", std::move(error));
        return;
    }
    node.host = std::string(address_host(rest));
    in6_addr v6;
    in_addr v4;
    node.host_is_ip = inet_pton(AF_INET, node.host.c_str(), &v4) == 1 || inet_pton(AF_INET6, node.host.c_str(), &v6) == 1;
}

std::string check_certificates_pem(const std::string& pem) {
    auto bio = memory_bio(pem);
    int count = 0;
    while (std::unique_ptr<X509, x509_free> cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) ++count;
    ERR_clear_error();  // the read that ended the loop left "no start line"
    return count > 0 ? "" : "holds no PEM certificate";
}

std::string check_private_key_pem(const std::string& key_pem, const std::string& cert_pem) {
    auto bio = memory_bio(key_pem);
    std::unique_ptr<EVP_PKEY, pkey_free> key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
    ERR_clear_error();
    if (!key) return "holds no PEM private key (an encrypted key is not supported)";
    auto cert_bio = memory_bio(cert_pem);
    std::unique_ptr<X509, x509_free> cert{PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)};
    ERR_clear_error();
    if (cert && X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        return "does not match the certificate of upstream.tls.cert";
    }
    return "";
}

void read_node_tls(reader& r, const toml::table& upstream, const std::string& origin, node_tls_config& out) {
    const std::string path = "upstream.tls";
    const auto* t = r.table(upstream, "tls", "upstream", {"ca_file", "verify", "sni", "cert", "key"});
    if (!t) return;
    read_pem_file(r, *t, "ca_file", origin, out.ca_file, out.ca_pem, check_certificates_pem);
    if (auto v = r.boolean(*t, "verify", path)) out.verify = *v;
    if (auto v = r.string(*t, "sni", path); v && !v->empty()) {
        if (valid_server_name(*v)) out.sni = *v;
        else r.problem(t->get("sni")->source(), path + ".sni", "'" + *v + "' is not a DNS name (SNI carries no IP address)");
    }
    read_pem_file(r, *t, "cert", origin, out.cert_file, out.cert_pem, check_certificates_pem);
    const auto check_key = [&out](const std::string& pem) { return check_private_key_pem(pem, out.cert_pem); };
    read_pem_file(r, *t, "key", origin, out.key_file, out.key_pem, check_key);
    if (out.cert_file.empty() != out.key_file.empty())
        r.problem(t->source(), path + (out.cert_file.empty() ? ".cert" : ".key"),
                  "a client certificate needs both upstream.tls.cert and upstream.tls.key");
}

}  // namespace gatehouse::config::detail
