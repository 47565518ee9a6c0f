// OCSP stapling from an operator-provided DER file: the checks, and OpenSSL's status callback.
#include <gatehouse/tls/ocsp_staple.hpp>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

namespace gatehouse::tls {

namespace {

struct response_free {
    void operator()(OCSP_RESPONSE* r) const noexcept { OCSP_RESPONSE_free(r); }
    void operator()(OCSP_BASICRESP* b) const noexcept { OCSP_BASICRESP_free(b); }
};

/// True when a single response of `basic` is about the certificate with `serial`; its nextUpdate in *next.
bool find_serial(OCSP_BASICRESP* basic, const ASN1_INTEGER* serial, ASN1_GENERALIZEDTIME** next) {
    for (int i = 0; i < OCSP_resp_count(basic); ++i) {
        OCSP_SINGLERESP* single = OCSP_resp_get0(basic, i);
        ASN1_INTEGER* id_serial = nullptr;
        if (OCSP_id_get0_info(nullptr, nullptr, nullptr, &id_serial, const_cast<OCSP_CERTID*>(OCSP_SINGLERESP_get0_id(single))) != 1 ||
            ASN1_INTEGER_cmp(id_serial, serial) != 0)
            continue;
        int reason = 0;
        ASN1_GENERALIZEDTIME *revoked = nullptr, *update = nullptr;
        OCSP_single_get0_status(single, &reason, &revoked, &update, next);
        return true;
    }
    return false;
}

int staple_callback(SSL* s, void* arg) {
    const auto* der = static_cast<const std::vector<unsigned char>*>(arg);
    if (!der || der->empty()) return SSL_TLSEXT_ERR_NOACK;
    auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(der->size()));  // OpenSSL frees it with the connection
    if (!copy) return SSL_TLSEXT_ERR_NOACK;
    std::memcpy(copy, der->data(), der->size());
    SSL_set_tlsext_status_ocsp_resp(s, copy, static_cast<long>(der->size()));
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

ocsp_read read_ocsp_response(const std::string& path, X509* leaf, std::chrono::system_clock::time_point now) {
    ocsp_read out;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        out.problem = "cannot read the OCSP response file";
        return out;
    }
    const std::vector<unsigned char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const unsigned char* p = bytes.data();
    std::unique_ptr<OCSP_RESPONSE, response_free> response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(bytes.size())));
    if (!response) {
        out.problem = "is not a DER OCSP response (openssl ocsp -respout writes one)";
        return out;
    }
    if (OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        out.problem = "the OCSP response is not \"successful\"";
        return out;
    }
    std::unique_ptr<OCSP_BASICRESP, response_free> basic(OCSP_response_get1_basic(response.get()));
    ASN1_GENERALIZEDTIME* next = nullptr;
    if (!basic || !find_serial(basic.get(), X509_get0_serialNumber(leaf), &next)) {
        out.problem = "the OCSP response is not about this certificate (no matching serial number)";
        return out;
    }
    const time_t t = std::chrono::system_clock::to_time_t(now);
    if (next && X509_cmp_time(next, const_cast<time_t*>(&t)) <= 0) {
        out.warning = "the OCSP response is out of date (its nextUpdate has passed): not stapled";
        return out;
    }
    out.der = bytes;
    return out;
}

void staple_ocsp(SSL_CTX* ctx, const std::vector<unsigned char>* der) {
    SSL_CTX_set_tlsext_status_cb(ctx, staple_callback);
    SSL_CTX_set_tlsext_status_arg(ctx, const_cast<std::vector<unsigned char>*>(der));
}

}  // namespace gatehouse::tls
