// c-ares on Asio: its sockets watched with posix::stream_descriptor, its timeouts with one steady_timer.
#include <gatehouse/discovery/resolver.hpp>

#include <gatehouse/discovery/node_set.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdexcept>

namespace gatehouse::discovery {

struct resolver::channel_holder {
    ares_channel channel = nullptr;
    ~channel_holder() {
        if (channel) ares_destroy(channel);  // calls every pending callback (ARES_EDESTRUCTION), closes the sockets
        ares_library_cleanup();
    }
};

struct resolver::watched_socket {
    explicit watched_socket(net::io_context& io, int fd) : descriptor(io, fd), fd(fd) {}
    net::posix::stream_descriptor descriptor;  ///< released, never closed: the socket is c-ares's
    int fd;
    bool want_read = false, want_write = false, reading = false, writing = false, closed = false;
};

namespace {

std::string servers_csv(const config::resolver_config& cfg) {
    std::string out;
    for (const auto& s : cfg.servers)
        out += (out.empty() ? "" : ",") + (s.is_v6 ? "[" + s.ip + "]" : s.ip) + ":" + std::to_string(s.port);
    return out;
}

/// Where a lookup's answer lands; the coroutine waits on `done` until the callback cancels it.
struct pending_lookup {
    explicit pending_lookup(net::io_context& io) : done(io, std::chrono::steady_clock::time_point::max()) {}
    net::steady_timer done;
    bool finished = false;
    lookup_result result;
};

std::vector<std::string> addresses_of(const ares_addrinfo* info) {
    std::vector<std::string> out;
    for (const auto* n = info ? info->nodes : nullptr; n != nullptr; n = n->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* raw = n->ai_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(n->ai_addr)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(n->ai_addr)->sin6_addr);
        if ((n->ai_family == AF_INET || n->ai_family == AF_INET6) && inet_ntop(n->ai_family, raw, text, sizeof text))
            out.emplace_back(text);
    }
    return normalized(std::move(out));
}

void on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
    auto* slot = static_cast<std::shared_ptr<pending_lookup>*>(arg);
    auto p = std::move(*slot);
    delete slot;
    p->finished = true;
    p->result.addresses = status == ARES_SUCCESS ? addresses_of(info) : std::vector<std::string>{};
    if (info) ares_freeaddrinfo(info);
    if (status == ARES_SUCCESS && !p->result.addresses.empty()) p->result.status = lookup_status::ok;
    else {
        const bool none = status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA;
        p->result.status = none ? lookup_status::not_found : lookup_status::failed;
        p->result.error = status == ARES_SUCCESS ? "no address" : ares_strerror(status);
    }
    p->done.cancel();
}

}  // namespace

resolver::resolver(net::io_context& io, const config::resolver_config& cfg)
    : io_(io), channel_(std::make_unique<channel_holder>()), timer_(io) {
    if (const int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
        throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
    ares_options options{};
    options.sock_state_cb = [](void* self, ares_socket_t fd, int r, int w) { socket_state(self, fd, r, w); };
    options.sock_state_cb_data = this;
    options.tries = 2;
    options.timeout = static_cast<int>(std::max<long long>(cfg.timeout.count() / 2, 1));
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS;
    char dns_only[] = "b";
    if (!cfg.servers.empty()) {  // the servers named are the only source (not /etc/hosts)
        options.lookups = dns_only;
        mask |= ARES_OPT_LOOKUPS;
    }
    if (const int rc = ares_init_options(&channel_->channel, &options, mask); rc != ARES_SUCCESS)
        throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
    if (!cfg.servers.empty()) {
        if (const int rc = ares_set_servers_ports_csv(channel_->channel, servers_csv(cfg).c_str()); rc != ARES_SUCCESS)
            throw std::runtime_error(std::string("c-ares: resolver.servers: ") + ares_strerror(rc));
    }
}

resolver::~resolver() {
    *alive_ = false;
    timer_.cancel();
    channel_.reset();  // its socket callbacks release every descriptor
    for (auto& [fd, s] : sockets_) s->descriptor.release();
}

net::awaitable<lookup_result> resolver::lookup(std::string name) {
    auto p = std::make_shared<pending_lookup>(io_);
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = ARES_AI_NOSORT;
    ares_getaddrinfo(channel_->channel, name.c_str(), nullptr, &hints, on_answer, new std::shared_ptr<pending_lookup>(p));
    if (!p->finished) {
        arm_timer();
        co_await p->done.async_wait(use_tuple);
    }
    co_return std::move(p->result);
}

void resolver::socket_state(void* self_raw, int fd, int readable, int writable) {
    auto* self = static_cast<resolver*>(self_raw);
    auto it = self->sockets_.find(fd);
    if (!readable && !writable) {  // c-ares closes it next
        if (it == self->sockets_.end()) return;
        it->second->closed = true;
        it->second->descriptor.cancel();
        it->second->descriptor.release();
        self->sockets_.erase(it);
        return;
    }
    if (it == self->sockets_.end())
        it = self->sockets_.emplace(fd, std::make_shared<watched_socket>(self->io_, fd)).first;
    auto s = it->second;
    s->want_read = readable != 0;
    s->want_write = writable != 0;
    if (s->want_read) self->wait_on(s, false);
    if (s->want_write) self->wait_on(s, true);
}

void resolver::wait_on(const std::shared_ptr<watched_socket>& s, bool write) {
    bool& busy = write ? s->writing : s->reading;
    if (busy) return;
    busy = true;
    const auto kind = write ? net::posix::descriptor_base::wait_write : net::posix::descriptor_base::wait_read;
    s->descriptor.async_wait(kind, [this, s, write, alive = alive_](error_code ec) {
        (write ? s->writing : s->reading) = false;
        if (!*alive || s->closed || ec) return;
        const int fd = s->fd;
        ares_process_fd(channel_->channel, write ? ARES_SOCKET_BAD : fd, write ? fd : ARES_SOCKET_BAD);
        if (!s->closed && (write ? s->want_write : s->want_read)) wait_on(s, write);
        arm_timer();
    });
}

void resolver::arm_timer() {
    timeval tv{};
    if (!ares_timeout(channel_->channel, nullptr, &tv)) return;  // nothing pending
    timer_.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    timer_.async_wait([this, alive = alive_](error_code ec) {
        if (!*alive || ec) return;
        ares_process_fd(channel_->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // handles the queries that timed out
        arm_timer();
    });
}

}  // namespace gatehouse::discovery
