// Where access log lines go: a bounded queue and a writer thread of its own, so the destination never blocks a worker.
#pragma once

#include <gatehouse/config/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace gatehouse::log {

/// The most bytes of access lines waiting for the writer thread; lines handed over beyond it are dropped.
constexpr std::size_t max_queued_access_log = 8 * 1024 * 1024;
/// Dropped lines are reported in the event log at most this often.
constexpr std::chrono::seconds dropped_lines_log_interval{5};
/// How long the sink's end waits for its writer to write what is queued (a stuck destination must not hold an exit).
constexpr std::chrono::seconds access_log_final_write_limit{1};

/// Access lines dropped by every sink of this process since it started (gatehouse_log_lines_dropped_total).
std::uint64_t access_lines_dropped() noexcept;

/// Where access lines go. Shared by every worker. Workers hand over whole lines (a worker's buffer, every 100 ms or
/// 64 KiB) to a bounded queue; the sink's writer thread writes them, whole lines per write(2). A slow or stuck
/// destination (a pipe nobody reads, a slow disk) costs dropped lines, counted and logged, never a waiting worker.
class access_log_sink {
public:
    /// nullptr when `cfg.access` is "off". Throws std::system_error naming the file when it cannot be opened.
    static std::shared_ptr<access_log_sink> open(const config::log_config& cfg);
    /// Lets the writer write what is queued, waiting for it at most access_log_final_write_limit.
    ~access_log_sink();
    access_log_sink(const access_log_sink&) = delete;
    access_log_sink& operator=(const access_log_sink&) = delete;

    /// Queues `lines` (complete lines): one lock per flush (not per request), a copy into a buffer that keeps its
    /// capacity, never a wait for the destination. Dropped, and counted, when the queue would pass
    /// max_queued_access_log; the first drop of each dropped_lines_log_interval is reported in the event log.
    void write(std::string_view lines) noexcept;
    /// SIGUSR1 (logrotate): opens the file again and puts it behind the same descriptor, so the writer writes to the
    /// old or the new file, never to a closed one. Returns an error message or "".
    std::string reopen();

    config::access_log_format format() const noexcept { return format_; }
    const std::string& target() const noexcept { return target_; }

private:
    struct queue;  ///< shared with the writer thread, which may outlive the sink when the destination is stuck
    access_log_sink(int fd, bool owned, std::string target, config::access_log_format format);
    void report_dropped(std::uint64_t lines) const noexcept;

    std::shared_ptr<queue> queue_;
    std::thread writer_;
    std::string target_;
    config::access_log_format format_;
};

}  // namespace gatehouse::log
