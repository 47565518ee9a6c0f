// A request body held whole before a node is chosen: in memory up to a limit, then in an unlinked temporary file.
#include <gatehouse/proxy/request_body_buffer.hpp>

#include <cerrno>
#include <string_view>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <utility>

namespace gatehouse::proxy {

int open_unlinked_temp_file(const std::string& directory) {
    const std::string dir = directory.empty() ? std::string("/tmp") : directory;
#ifdef O_TMPFILE
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    // EOPNOTSUPP / EISDIR: a file system without O_TMPFILE; anything else fails below too, with mkstemp's errno.
#endif
    std::string path = dir + "/gatehouse-body-XXXXXX";
    int fd2 = ::mkostemp(path.data(), O_CLOEXEC);  // mode 0600
    if (fd2 < 0) return -1;
    ::unlink(path.c_str());
    return fd2;
}

bool reframe_chunked_head(std::string& head, std::uint64_t length) {
    constexpr std::string_view chunked_end = "Transfer-Encoding: chunked\r\n\r\n";
    if (head.size() < chunked_end.size() ||
        std::string_view(head).substr(head.size() - chunked_end.size()) != chunked_end)
        return false;
    head.resize(head.size() - chunked_end.size());
    head.append("Content-Length: ").append(std::to_string(length)).append("\r\n\r\n");
    return true;
}

request_body_buffer::request_body_buffer(std::size_t memory_limit, std::string directory, std::uint64_t max_size)
    : memory_limit_(memory_limit), directory_(std::move(directory)), max_size_(max_size) {}

request_body_buffer::~request_body_buffer() {
    if (fd_ >= 0) ::close(fd_);
}

namespace {
bool write_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        const auto w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}
}  // namespace

body_buffer_error request_body_buffer::spill() {
    fd_ = open_unlinked_temp_file(directory_);
    if (fd_ < 0) return body_buffer_error::file_create;
    if (!write_all(fd_, memory_.data(), memory_.size())) return body_buffer_error::file_write;
    std::string().swap(memory_);  // the memory goes back: the body now lives in the file alone
    return body_buffer_error::none;
}

body_buffer_error request_body_buffer::append(const char* data, std::size_t n) {
    if (max_size_ != 0 && (size_ + n > max_size_ || size_ + n < size_)) return body_buffer_error::too_large;
    if (fd_ < 0 && memory_.size() + n > memory_limit_) {
        if (const auto e = spill(); e != body_buffer_error::none) return e;
    }
    if (fd_ >= 0) {
        if (!write_all(fd_, data, n)) return body_buffer_error::file_write;
    } else {
        memory_.append(data, n);
    }
    size_ += n;
    return body_buffer_error::none;
}

body_buffer_error request_body_buffer::read(std::uint64_t offset, char* out, std::size_t n, std::size_t& got) const {
    got = 0;
    if (offset >= size_) return body_buffer_error::none;
    if (n > size_ - offset) n = static_cast<std::size_t>(size_ - offset);
    if (fd_ < 0) {
        memory_.copy(out, n, static_cast<std::size_t>(offset));
        got = n;
        return body_buffer_error::none;
    }
    while (got < n) {
        const auto r = ::pread(fd_, out + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return body_buffer_error::file_read;
        got += static_cast<std::size_t>(r);
    }
    return body_buffer_error::none;
}

}  // namespace gatehouse::proxy
