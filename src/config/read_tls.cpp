// Reads [tls]: the TLS listeners, the default certificate, the certificates chosen by SNI, ciphers and HSTS.
#include "read_tls.hpp"

#include "read_files.hpp"

namespace gatehouse::config::detail {

namespace {

/// cert and key of one table (both required); paths relative to the configuration file.
std::optional<tls_certificate> read_pair(reader& r, const toml::table& t, const std::string& path,
                                         const std::string& origin) {
    auto cert = r.string(t, "cert", path, presence::required);
    auto key = r.string(t, "key", path, presence::required);
    if (!cert || !key) return std::nullopt;
    bool ok = true;
    for (const auto& [name, value] : {std::pair{"cert", &*cert}, std::pair{"key", &*key}}) {
        if (!value->empty()) continue;
        r.problem(t.get(name)->source(), child_path(path, name), "must name a PEM file");
        ok = false;
    }
    if (!ok) return std::nullopt;
    tls_certificate pair{relative_to(origin, *cert), relative_to(origin, *key), {}};
    if (auto ocsp = r.string(t, "ocsp_response", path); ocsp && !ocsp->empty()) pair.ocsp_response = relative_to(origin, *ocsp);
    return pair;
}

void read_certificates(reader& r, const toml::table& t, const std::string& origin, tls_config& out) {
    const auto* list = r.array(t, "certificate", "tls", "an array of tables ([[tls.certificate]])");
    if (!list) return;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string path = index_path("tls.certificate", i);
        if (const auto* item = r.table(*list->get(i), path, {"cert", "key", "ocsp_response"}))
            if (auto pair = read_pair(r, *item, path, origin)) out.certificates.push_back(std::move(*pair));
    }
}

}  // namespace

void read_tls(reader& r, const toml::table& root, const std::string& origin, tls_config& out) {
    const std::string path = "tls";
    const auto* t = r.section(root, path, {"listen", "cert", "key", "certificate", "ciphers", "ciphersuites", "hsts",
                                         "direct_io", "ocsp_response"});
    if (!t) return;
    if (auto v = r.addresses(*t, "listen", path)) out.listen = std::move(*v);
    if (auto v = r.string(*t, "ciphers", path)) out.ciphers = std::move(*v);
    if (auto v = r.string(*t, "ciphersuites", path)) out.ciphersuites = std::move(*v);
    if (auto v = r.boolean(*t, "direct_io", path)) out.direct_io = *v;
    if (auto v = r.string(*t, "hsts", path)) {
        if (v->find_first_of("\r\n") != std::string::npos)
            r.problem(t->get("hsts")->source(), "tls.hsts", "must be one line (a header value)");
        else
            out.hsts = std::move(*v);
    }
    read_certificates(r, *t, origin, out);
    if (out.listen.empty()) return;
    if (!t->contains("cert") || !t->contains("key")) {
        r.problem(t->source(), "tls.cert", "tls.listen is set: tls.cert and tls.key (the default certificate) are required");
        return;
    }
    if (auto pair = read_pair(r, *t, path, origin)) out.default_certificate = std::move(*pair);
}

void check_redirect_https(reader& r, const toml::table& root, const config& c) {
    if (!c.proxy.redirect_https || c.tls.enabled()) return;
    const auto* proxy = root.get_as<toml::table>("proxy");
    r.problem(proxy && proxy->get("redirect_https") ? proxy->get("redirect_https")->source() : toml::source_region{},
              "proxy.redirect_https", "needs TLS listeners ([tls] listen) to send clients to");
}

}  // namespace gatehouse::config::detail
