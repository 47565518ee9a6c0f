// The access log's destination: a bounded queue filled by workers and written by a thread of its own.
#include <gatehouse/log/access_log_sink.hpp>

#include <gatehouse/log/event_log.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <new>
#include <pthread.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace gatehouse::log {
namespace {

std::atomic<std::uint64_t> lines_dropped{0};

std::uint64_t lines_in(std::string_view text) noexcept {
    return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

/// Writes all of `text`; when the destination fails, what was not written is counted as dropped.
void write_all(int fd, std::string_view text) noexcept {
    while (!text.empty()) {
        const auto n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            lines_dropped.fetch_add(lines_in(text), std::memory_order_relaxed);
            return;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

std::uint64_t access_lines_dropped() noexcept { return lines_dropped.load(std::memory_order_relaxed); }

struct access_log_sink::queue {
    std::mutex mutex;
    std::condition_variable wake;      ///< lines queued, or stopping
    std::condition_variable finished;  ///< the writer wrote everything and ended
    std::string pending;               ///< lines waiting for the writer (keeps its capacity: no allocation per flush)
    bool stopping = false;
    bool stopped = false;
    std::uint64_t dropped_unreported = 0;
    std::chrono::steady_clock::time_point last_report = std::chrono::steady_clock::now() - dropped_lines_log_interval;
    int fd;
    bool owned;  ///< a file we opened (not stdout/stderr)

    queue(int fd, bool owned) : fd(fd), owned(owned) {}
    ~queue() {
        if (owned) ::close(fd);
    }

    /// Counts dropped lines; the number to report now (all since the last report), 0 when one was made lately.
    std::uint64_t note_dropped(std::uint64_t lines) noexcept {
        lines_dropped.fetch_add(lines, std::memory_order_relaxed);
        dropped_unreported += lines;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_report < dropped_lines_log_interval) return 0;
        last_report = now;
        return std::exchange(dropped_unreported, 0);
    }

    /// The writer thread: takes everything queued at once, writes it with the lock released.
    void run() noexcept {
        std::string batch;
        std::unique_lock lock(mutex);
        for (;;) {
            wake.wait(lock, [&] { return !pending.empty() || stopping; });
            if (pending.empty()) break;
            batch.swap(pending);
            lock.unlock();
            write_all(fd, batch);
            batch.clear();
            lock.lock();
        }
        stopped = true;
        finished.notify_all();
    }
};

std::shared_ptr<access_log_sink> access_log_sink::open(const config::log_config& cfg) {
    if (cfg.access == "off") return nullptr;
    if (cfg.access == "stdout")
        return std::shared_ptr<access_log_sink>(new access_log_sink(STDOUT_FILENO, false, "stdout", cfg.access_format));
    if (cfg.access == "stderr")
        return std::shared_ptr<access_log_sink>(new access_log_sink(STDERR_FILENO, false, "stderr", cfg.access_format));
    const int fd = ::open(cfg.access.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open access log " + cfg.access);
    return std::shared_ptr<access_log_sink>(new access_log_sink(fd, true, cfg.access, cfg.access_format));
}

access_log_sink::access_log_sink(int fd, bool owned, std::string target, config::access_log_format format)
    : queue_(std::make_shared<queue>(fd, owned)), target_(std::move(target)), format_(format) {
    // The writer takes no signal: SIGTERM, SIGHUP and SIGUSR1 belong to the control thread (server.cpp).
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    writer_ = std::thread([q = queue_] { q->run(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

access_log_sink::~access_log_sink() {
    std::unique_lock lock(queue_->mutex);
    queue_->stopping = true;
    queue_->wake.notify_one();
    const bool done = queue_->finished.wait_for(lock, access_log_final_write_limit, [&] { return queue_->stopped; });
    lock.unlock();
    // Still writing to a stuck destination: the thread owns the queue and ends with the process.
    if (done) writer_.join();
    else writer_.detach();
}

void access_log_sink::write(std::string_view lines) noexcept {
    std::uint64_t report = 0;
    {
        const std::lock_guard lock(queue_->mutex);
        queue& q = *queue_;
        if (q.pending.size() + lines.size() <= max_queued_access_log) {
            const bool was_empty = q.pending.empty();
            try {
                q.pending.append(lines);
                if (was_empty) q.wake.notify_one();
                return;
            } catch (const std::bad_alloc&) {
                // counted as dropped below
            }
        }
        report = q.note_dropped(lines_in(lines));
    }
    if (report != 0) report_dropped(report);
}

void access_log_sink::report_dropped(std::uint64_t lines) const noexcept {
    try {
        log::warning("access log: " + std::to_string(lines) + " line(s) dropped: " + target_ +
                     " does not take them as fast as they come (a stuck pipe or a slow disk); requests are not held "
                     "up (gatehouse_log_lines_dropped_total)");
    } catch (...) {
        // Logging must never take the process down.
    }
}

std::string access_log_sink::reopen() {
    if (!queue_->owned) return "";
    const int fresh = ::open(target_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fresh < 0) return "cannot reopen access log " + target_ + ": " + std::strerror(errno);
    const int rc = ::dup3(fresh, queue_->fd, O_CLOEXEC);
    const int saved = errno;
    ::close(fresh);
    if (rc < 0) return "cannot reopen access log " + target_ + ": " + std::strerror(saved);
    return "";
}

}  // namespace gatehouse::log
