// sd_notify messages (libsystemd): READY, RELOADING, STOPPING and the watchdog ping.
#include <gatehouse/server/systemd_notify.hpp>

#include <systemd/sd-daemon.h>

#include <ctime>

namespace gatehouse::server::systemd {

namespace {

/// sd_notify without unsetting NOTIFY_SOCKET (later messages need it); true when a message was sent.
bool send(const std::string& message) { return ::sd_notify(0, message.c_str()) > 0; }

std::string monotonic_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::to_string(static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000);
}

}  // namespace

bool ready(const std::string& status) { return send("READY=1\nSTATUS=" + status); }

bool reloading() { return send("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec() + "\nSTATUS=reloading"); }

bool stopping() { return send("STOPPING=1\nSTATUS=draining"); }

bool watchdog() { return send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_period() {
    std::uint64_t usec = 0;
    if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::microseconds(usec / 2);
}

}  // namespace gatehouse::server::systemd
