// Readiness and liveness for systemd (Type=notify): thin wrappers over libsystemd's sd_notify and sd_watchdog_enabled.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace gatehouse::server {

/// The messages gatehouse sends to systemd. Each call does nothing (and returns false) when the process was not
/// started by systemd with Type=notify (no NOTIFY_SOCKET). Any thread may call them; the control thread does.
namespace systemd {

/// READY=1 with a STATUS= line: every listener accepts and the first round of health checks is over (start-up), or
/// a reload has finished (after reloading()).
bool ready(const std::string& status);
/// RELOADING=1 (with MONOTONIC_USEC, as systemd 253's Type=notify-reload wants): a SIGHUP reload has begun.
bool reloading();
/// STOPPING=1: the graceful drain has begun.
bool stopping();
/// WATCHDOG=1: the control loop is alive.
bool watchdog();

/// Half of WatchdogSec= (WATCHDOG_USEC) when systemd watches this process, nullopt otherwise: how often watchdog()
/// must be called.
std::optional<std::chrono::microseconds> watchdog_period();

}  // namespace systemd
}  // namespace gatehouse::server
