// A request body held whole before a node is chosen: in memory up to a limit, then in an unlinked temporary file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gatehouse::proxy {

/// Why an append or a read failed.
enum class body_buffer_error {
    none,
    too_large,     ///< the body would pass the size limit
    file_create,   ///< no temporary file could be created in the directory
    file_write,    ///< writing the temporary file failed (disk full, I/O error)
    file_read,     ///< reading it back failed
};

/// Holds one request body. The first `memory_limit` bytes stay in memory; a body that grows past that moves to a
/// temporary file in `directory` (created with O_TMPFILE, or mkstemp and unlinked at once, mode 0600), so the file
/// disappears with its descriptor whatever happens to the process. The body is read back in pieces (`read`), any
/// number of times (a retry sends it again). Blocking file I/O, like Nginx's client_body_temp_path.
class request_body_buffer {
public:
    /// `max_size` = 0: no size limit.
    request_body_buffer(std::size_t memory_limit, std::string directory, std::uint64_t max_size);
    ~request_body_buffer();
    request_body_buffer(const request_body_buffer&) = delete;
    request_body_buffer& operator=(const request_body_buffer&) = delete;

    /// Appends `n` bytes; on error nothing of them is kept and the buffer should be dropped.
    body_buffer_error append(const char* data, std::size_t n);

    /// Copies up to `n` bytes from body offset `offset` into `out`; `got` = bytes copied (0 at the end).
    body_buffer_error read(std::uint64_t offset, char* out, std::size_t n, std::size_t& got) const;

    std::uint64_t size() const noexcept { return size_; }
    bool in_file() const noexcept { return fd_ >= 0; }
    /// The whole body when it is in memory (empty view otherwise): sent without a copy.
    const std::string& memory() const noexcept { return memory_; }

private:
    body_buffer_error spill();  // moves memory_ into a new temporary file

    std::size_t memory_limit_;
    std::string directory_;
    std::uint64_t max_size_;
    std::string memory_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

/// A node request head written for a chunked body (it ends in "Transfer-Encoding: chunked" CRLF CRLF) is changed
/// to state `length` instead, once the body is buffered whole. False (head unchanged) when it does not end so.
bool reframe_chunked_head(std::string& head, std::uint64_t length);

/// Opens an anonymous temporary file in `directory` (O_TMPFILE, else mkstemp + unlink): its descriptor, or -1.
int open_unlinked_temp_file(const std::string& directory);

}  // namespace gatehouse::proxy
