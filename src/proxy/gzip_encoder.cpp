// gzip through zlib's deflate, one piece at a time (sync-flushed when the input pauses).
#include <gatehouse/proxy/gzip_encoder.hpp>

#include <zlib.h>

namespace gatehouse::proxy {

struct gzip_encoder::state {
    z_stream z{};
    ~state() { deflateEnd(&z); }
};

gzip_window gzip_window_for(std::optional<std::uint64_t> length) noexcept {
    gzip_window w;
    if (!length) return w;
    // Like Nginx's gzip filter: shrink the window while the input still fits in half of it (262 = zlib's lookahead
    // margin), and the hash table with it. zlib's smallest window for gzip is 2^9.
    while (w.window_bits > 9 && *length < (std::uint64_t{1} << (w.window_bits - 1)) - 262) {
        --w.window_bits;
        --w.mem_level;
    }
    if (w.mem_level < 1) w.mem_level = 1;
    return w;
}

gzip_encoder::gzip_encoder(int level, std::optional<std::uint64_t> length) : state_(std::make_unique<state>()) {
    const gzip_window w = gzip_window_for(length);
    // window_bits + 16: a gzip header and trailer instead of zlib's.
    if (deflateInit2(&state_->z, level, Z_DEFLATED, w.window_bits + 16, w.mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
        state_->z = z_stream{};  // nothing to end
        state_.reset();
    }
}

gzip_encoder::~gzip_encoder() = default;

bool gzip_encoder::compress(std::string_view in, gzip_flush flush, std::string& out) {
    if (!state_ || finished_) return false;
    auto& z = state_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    const int mode = flush == gzip_flush::finish ? Z_FINISH : flush == gzip_flush::sync ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    const std::size_t start = out.size();
    // Output grows in steps of about the input's bound; deflate is called until it has taken every input byte and,
    // when flushing, until it left room unused (all of the flushed output is out).
    for (;;) {
        const std::size_t before = out.size();
        const std::size_t room = deflateBound(&z, z.avail_in) + 64;
        out.resize(before + room);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + before);
        z.avail_out = static_cast<uInt>(room);
        const int rc = deflate(&z, mode);
        out.resize(before + (room - z.avail_out));
        if (rc == Z_STREAM_END) {
            finished_ = true;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            out.resize(start);
            return false;
        }
        if (z.avail_in == 0 && z.avail_out != 0) break;
    }
    bytes_in_ += in.size();
    bytes_out_ += out.size() - start;
    return true;
}

}  // namespace gatehouse::proxy
