// The test DNS server: one UDP socket, one thread, answers built by hand (RFC 1035 section 4).
#include "support/dns_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace gatehouse::test {

namespace {

void put16(std::string& out, unsigned v) {
    out += static_cast<char>((v >> 8) & 0xff);
    out += static_cast<char>(v & 0xff);
}

unsigned get16(const std::string& in, std::size_t at) {
    return (static_cast<unsigned char>(in[at]) << 8) | static_cast<unsigned char>(in[at + 1]);
}

/// The question's name (lower case, dotted) and where the question ends; false when it is malformed.
bool read_question(const std::string& q, std::string& name, std::size_t& end) {
    std::size_t at = 12;
    while (at < q.size() && q[at] != 0) {
        const std::size_t length = static_cast<unsigned char>(q[at]);
        if (length > 63 || at + 1 + length >= q.size()) return false;
        if (!name.empty()) name += '.';
        for (std::size_t i = 0; i < length; ++i)
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(q[at + 1 + i])));
        at += 1 + length;
    }
    end = at + 5;  // the root label, QTYPE, QCLASS
    return end <= q.size();
}

}  // namespace

dns_server::dns_server() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string error = std::strerror(errno);
        if (fd_ >= 0) ::close(fd_);
        throw std::runtime_error("dns_server: cannot bind 127.0.0.1:0: " + error);
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

dns_server::~dns_server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
}

std::string dns_server::address() const { return "127.0.0.1:" + std::to_string(port_); }

void dns_server::set(const std::string& name, std::vector<std::string> ipv4) {
    std::lock_guard lock(mutex_);
    records_[name] = std::move(ipv4);
}

void dns_server::serve() {
    char buffer[512];
    while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;  // wakes every 50 ms to see stop_
        sockaddr_in from{};
        socklen_t from_len = sizeof from;
        const auto n = ::recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n < 12) continue;
        const auto reply = answer(std::string(buffer, static_cast<std::size_t>(n)));
        if (reply.empty()) continue;
        ++queries_;
        ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&from), from_len);
    }
}

std::string dns_server::answer(const std::string& query) {
    std::string name;
    std::size_t end = 0;
    if (!read_question(query, name, end)) return "";
    const unsigned type = get16(query, end - 4);
    std::vector<std::string> addresses;
    bool known = false;
    {
        std::lock_guard lock(mutex_);
        if (auto it = records_.find(name); it != records_.end() && !it->second.empty()) {
            known = true;
            addresses = it->second;
        }
    }
    const unsigned rcode = failing_ ? 2 : known ? 0 : 3;  // SERVFAIL, NOERROR, NXDOMAIN
    if (type != 1 || rcode != 0) addresses.clear();       // no AAAA (or other) record
    std::string out = query.substr(0, 2);                  // ID
    put16(out, 0x8400 | (get16(query, 2) & 0x0100) | 0x0080 | rcode);  // QR, AA, RD copied, RA, RCODE
    put16(out, 1);
    put16(out, static_cast<unsigned>(addresses.size()));
    put16(out, 0);
    put16(out, 0);
    out += query.substr(12, end - 12);
    for (const auto& a : addresses) {
        in_addr v4{};
        ::inet_pton(AF_INET, a.c_str(), &v4);
        put16(out, 0xc00c);  // the question's name
        put16(out, 1);       // A
        put16(out, 1);       // IN
        put16(out, 0);
        put16(out, 1);       // TTL 1 s
        put16(out, 4);
        out.append(reinterpret_cast<const char*>(&v4), 4);
    }
    return out;
}

}  // namespace gatehouse::test
