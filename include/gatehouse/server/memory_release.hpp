// Giving the allocator's free memory back to the operating system once a worker has gone quiet.
#pragma once

namespace gatehouse::server {

/// Returns what the allocator holds free to the operating system. With tcmalloc (the gatehouse binary): the calling
/// thread's cache goes back to the central lists, and the page heap's free spans are released (madvise); with
/// glibc's malloc (the test binaries): malloc_trim. Sanitizer builds: nothing. A few system calls and a walk of the
/// free lists: call it when a worker has gone quiet, never per request.
void release_free_memory() noexcept;

/// Whether release_free_memory() reaches tcmalloc (the binary links it) rather than glibc's malloc.
bool allocator_is_tcmalloc() noexcept;

/// Tells a worker's tick when a burst of work has ended: after activity (a connection opened or closed, a request
/// sent to a node), `quiet_ticks` ticks in a row without any. Then the memory the burst freed (read buffers of
/// connections now parked, coroutine frames) can go back to the system, so RSS follows what is held, not the peak.
class quiet_watch {
public:
    explicit quiet_watch(unsigned quiet_ticks) noexcept : quiet_ticks_(quiet_ticks) {}

    void activity() noexcept {
        pending_ = true;
        quiet_ = 0;
    }

    /// Called by every tick: true once per burst, when it has been quiet for long enough.
    bool tick() noexcept {
        if (!pending_ || ++quiet_ < quiet_ticks_) return false;
        pending_ = false;
        return true;
    }

private:
    unsigned quiet_ticks_;
    unsigned quiet_ = 0;
    bool pending_ = false;
};

}  // namespace gatehouse::server
