// A blocking TLS test client on Asio's ssl::stream; socket timeouts bound every read and write.
#include "tls_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sys/socket.h>

#include <optional>
#include <utility>

namespace gatehouse::test {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

struct tls_client::impl {
    net::io_context io;
    ssl::context ctx{ssl::context::tls_client};
    std::optional<ssl::stream<tcp::socket>> tls;  // made once ctx is set up (SSL_new copies its settings)
    ssl::stream<tcp::socket>& stream() { return *tls; }
    std::string in;
};

namespace {

void set_socket_timeout(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<long>(timeout.count() / 1000);
    tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

tls_client::tls_client(std::uint16_t port, tls_client_options options, const std::shared_ptr<void>& resume)
    : impl_(std::make_unique<impl>()) {
    SSL_CTX* c = impl_->ctx.native_handle();
    if (options.min_version) SSL_CTX_set_min_proto_version(c, options.min_version);
    if (options.max_version) SSL_CTX_set_max_proto_version(c, options.max_version);
    if (options.min_version && options.min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT);
    impl_->tls.emplace(impl_->io, impl_->ctx);
    SSL* s = impl_->stream().native_handle();
    if (!options.server_name.empty()) SSL_set_tlsext_host_name(s, options.server_name.c_str());
    static constexpr unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    if (options.offer_http11) SSL_set_alpn_protos(s, http11, sizeof http11);
    if (resume) SSL_set_session(s, static_cast<SSL_SESSION*>(resume.get()));
    boost::system::error_code ec;
    auto& socket = impl_->stream().next_layer();
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (!ec) set_socket_timeout(socket.native_handle(), options.timeout);
    if (!ec) impl_->stream().handshake(ssl::stream_base::client, ec);
    if (ec) error_ = ec.message().empty() ? "handshake failed" : ec.message();
}

tls_client::~tls_client() {
    // Closing without a shutdown would make OpenSSL drop the session from resumption (ssl_clear_bad_session).
    if (impl_->tls) SSL_set_shutdown(impl_->stream().native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

std::string tls_client::protocol() const { return SSL_get_version(impl_->stream().native_handle()); }

std::string tls_client::alpn() const {
    const unsigned char* data = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(impl_->stream().native_handle(), &data, &len);
    return data ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}

std::string tls_client::peer_common_name() const {
    X509* cert = SSL_get1_peer_certificate(impl_->stream().native_handle());
    if (!cert) return {};
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    X509_free(cert);
    return name;
}

bool tls_client::reused() const { return SSL_session_reused(impl_->stream().native_handle()) == 1; }

std::shared_ptr<void> tls_client::session() const {
    SSL_SESSION* s = SSL_get1_session(impl_->stream().native_handle());
    if (!s) return nullptr;
    return std::shared_ptr<void>(s, [](void* p) { SSL_SESSION_free(static_cast<SSL_SESSION*>(p)); });
}

void tls_client::send(std::string_view bytes) {
    boost::system::error_code ec;
    net::write(impl_->stream(), net::buffer(bytes.data(), bytes.size()), ec);
}

std::string tls_client::read_response() {
    auto& in = impl_->in;
    char buf[16 * 1024];
    std::size_t need = std::string::npos;
    for (;;) {
        const auto head_end = in.find("\r\n\r\n");
        if (head_end != std::string::npos && need == std::string::npos) {
            std::size_t length = 0;
            const auto cl = in.find("Content-Length: ");
            if (cl != std::string::npos && cl < head_end) length = std::stoul(in.substr(cl + 16));
            need = head_end + 4 + length;
        }
        if (need != std::string::npos && in.size() >= need) {
            std::string out = in.substr(0, need);
            in.erase(0, need);
            return out;
        }
        boost::system::error_code ec;
        const std::size_t n = impl_->stream().read_some(net::buffer(buf), ec);
        if (ec) return std::exchange(in, std::string());
        in.append(buf, n);
    }
}

bool tls_client::closed_by_peer(std::chrono::milliseconds timeout) {
    return how_closed(timeout) != "open";  // a receive timeout comes back as EAGAIN: still open
}

std::string tls_client::how_closed(std::chrono::milliseconds timeout) {
    set_socket_timeout(impl_->stream().next_layer().native_handle(), timeout);
    char buf[4096];
    for (;;) {
        boost::system::error_code ec;
        impl_->stream().read_some(net::buffer(buf), ec);
        if (!ec) continue;
        if (ec == net::error::would_block || ec == net::error::try_again) return "open";
        if (ec == net::error::eof) return "close_notify";  // OpenSSL reads a close_notify as SSL_ERROR_ZERO_RETURN
        if (ec == ssl::error::stream_truncated) return "truncated";
        return "error: " + ec.message();
    }
}

std::string tls_get(std::uint16_t port, std::string_view target, tls_client_options options, std::string_view host) {
    tls_client client(port, std::move(options));
    if (!client.ok()) return {};
    std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
    client.send(request);
    return client.read_response();
}

}  // namespace gatehouse::test
