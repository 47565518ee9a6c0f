// gzip (RFC 1952) through zlib, a piece at a time, for answers compressed as they stream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::proxy {

/// What follows a piece of input.
enum class gzip_flush {
    none,  ///< more input comes at once: zlib may keep output back for a better ratio
    sync,  ///< the input is drained for now: everything so far comes out, decodable (Z_SYNC_FLUSH)
    finish ///< the end: the rest of the stream and the gzip trailer (Z_FINISH)
};

/// One gzip stream. Holds zlib's deflate state (about 2^(window+2) + 2^(mem_level+9) bytes: 256 KiB for a large or
/// unknown body, much less for a small one) from construction to destruction: one per compressing exchange, never
/// kept by an idle connection.
class gzip_encoder {
public:
    /// `level` 1-9; `length` the input's size when known: a small input gets a smaller window (as Nginx does).
    explicit gzip_encoder(int level, std::optional<std::uint64_t> length = std::nullopt);
    ~gzip_encoder();
    gzip_encoder(const gzip_encoder&) = delete;
    gzip_encoder& operator=(const gzip_encoder&) = delete;

    /// False when zlib could not set up its state (out of memory); nothing else works then.
    bool ok() const noexcept { return state_ != nullptr; }

    /// Compresses `in` and appends the output to `out` (which may stay empty with gzip_flush::none). False on a
    /// zlib error, or after finish.
    bool compress(std::string_view in, gzip_flush flush, std::string& out);

    std::uint64_t bytes_in() const noexcept { return bytes_in_; }
    std::uint64_t bytes_out() const noexcept { return bytes_out_; }

private:
    struct state;
    std::unique_ptr<state> state_;
    bool finished_ = false;
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
};

/// The zlib window and memory level for an input of `length` bytes (unknown: the largest, 15 and 8): each halving
/// of the window below a small input saves memory and costs no ratio.
struct gzip_window {
    int window_bits = 15;
    int mem_level = 8;
};
gzip_window gzip_window_for(std::optional<std::uint64_t> length) noexcept;

}  // namespace gatehouse::proxy
