// An in-memory async stream for the fuzz targets: reads hand out the input in pieces of chosen sizes, writes
// append to a string. Completions are posted, as a socket's would be, so the real coroutines run unchanged.
#pragma once

#include <gatehouse/net.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::fuzz {

class memory_stream {
public:
    using executor_type = net::io_context::executor_type;

    /// `pieces`: sizes of successive reads (cycled; 0 entries are skipped); EOF once `input` is used up.
    memory_stream(net::io_context& io, std::string_view input, std::vector<std::size_t> pieces)
        : io_(io), input_(input), pieces_(std::move(pieces)) {}

    executor_type get_executor() noexcept { return io_.get_executor(); }
    const std::string& written() const noexcept { return written_; }
    std::size_t unread() const noexcept { return input_.size() - offset_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this, buffers](auto handler) {
                error_code ec;
                std::size_t n = 0;
                if (offset_ >= input_.size()) {
                    ec = net::error::eof;
                } else {
                    std::size_t want = input_.size() - offset_;
                    if (!pieces_.empty()) {
                        const std::size_t p = pieces_[next_piece_++ % pieces_.size()];
                        if (p > 0 && p < want) want = p;
                    }
                    n = net::buffer_copy(buffers, net::buffer(input_.data() + offset_, want));
                    offset_ += n;
                }
                net::post(io_, [h = std::move(handler), ec, n]() mutable { h(ec, n); });
            },
            token);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this, buffers](auto handler) {
                std::size_t n = 0;
                for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
                    const net::const_buffer b(*it);
                    written_.append(static_cast<const char*>(b.data()), b.size());
                    n += b.size();
                }
                net::post(io_, [h = std::move(handler), n]() mutable { h(error_code{}, n); });
            },
            token);
    }

private:
    net::io_context& io_;
    std::string_view input_;
    std::size_t offset_ = 0;
    std::vector<std::size_t> pieces_;
    std::size_t next_piece_ = 0;
    std::string written_;
};

/// Reads the first bytes of a fuzz input as parameters; what is left is the payload.
class input_reader {
public:
    input_reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    std::uint8_t byte() noexcept {
        if (pos_ >= size_) return 0;
        return data_[pos_++];
    }
    std::string_view rest() const noexcept {
        return {reinterpret_cast<const char*>(data_) + pos_, size_ - std::min(pos_, size_)};
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

/// Read sizes from one parameter byte: 0 = everything at once, otherwise 1..7-byte pieces and a longer one.
inline std::vector<std::size_t> piece_sizes(std::uint8_t b) {
    if (b == 0) return {};
    return {std::size_t(b & 7u) + 1, std::size_t(b >> 3) + 1, 4096};
}

}  // namespace gatehouse::fuzz
