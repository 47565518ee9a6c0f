// Reaching Asio's per-socket reactor state (see read_drain.hpp for why and when).
#include <gatehouse/proxy/read_drain.hpp>

#include <boost/asio/detail/epoll_reactor.hpp>
#include <boost/version.hpp>

#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <type_traits>

// Checked against Asio 1.81's epoll_reactor: register_descriptor sets try_speculative_ to true and registers
// registered_events_ with EPOLLET; start_op skips the speculative read and queues a read, with no epoll_ctl, while
// try_speculative_[read_op] is false, and re-registers registered_events_ (so keeps EPOLLRDHUP) when it adds
// EPOLLOUT; run() stores each event's mask in the descriptor state's task_result_ (OR-ing it while that state is
// queued) and perform_io sets try_speculative_ back to true on every readable, hang-up or error event before it
// performs the queued read. Re-check all of that before changing this line.
static_assert(BOOST_VERSION / 100 == 1081, "read_drain relies on Asio 1.81's epoll reactor; re-check it");
#if !defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) || defined(BOOST_ASIO_DISABLE_EPOLL)
#error "read_drain needs Asio's epoll reactor"
#endif

namespace gatehouse::proxy {
namespace {

/// On unless the start-up self-test (or a test) turned it off; read on every read, written before workers start.
std::atomic<bool> enabled{true};

using reactor = net::detail::epoll_reactor;
using descriptor_state = reactor::descriptor_state;
using socket_base = net::basic_socket<tcp, net::any_io_executor>;
using socket_impl = net::detail::io_object_impl<net::detail::reactive_socket_service<tcp>, net::any_io_executor>;
static_assert(std::is_base_of_v<socket_base, tcp::socket>);
static_assert(std::is_base_of_v<net::detail::scheduler_operation, descriptor_state>);

// The standard's sanctioned way to name a private member from outside: access checking does not apply to the
// arguments of an explicit instantiation ([temp.spec.general]/6). Each tag gets a friend that returns the member
// pointer its instantiation below was given.
template <class Tag, typename Tag::type Member>
struct member_pointer {
    friend typename Tag::type pointer_to(Tag) { return Member; }
};

#define GATEHOUSE_MEMBER_POINTER(tag, member_type, member)                                                          \
    struct tag {                                                                                                     \
        using type = member_type;                                                                                    \
        friend type pointer_to(tag);                                                                                 \
    };                                                                                                               \
    template struct member_pointer<tag, member>

GATEHOUSE_MEMBER_POINTER(socket_impl_of, socket_impl socket_base::*, &socket_base::impl_);
GATEHOUSE_MEMBER_POINTER(speculative_flags_of, bool (descriptor_state::*)[reactor::max_ops],
                         &descriptor_state::try_speculative_);
GATEHOUSE_MEMBER_POINTER(registered_events_of, std::uint32_t descriptor_state::*, &descriptor_state::registered_events_);
GATEHOUSE_MEMBER_POINTER(reactor_of, reactor* descriptor_state::*, &descriptor_state::reactor_);
GATEHOUSE_MEMBER_POINTER(epoll_fd_of, int reactor::*, &reactor::epoll_fd_);
GATEHOUSE_MEMBER_POINTER(last_events_of, unsigned int net::detail::scheduler_operation::*,
                         &net::detail::scheduler_operation::task_result_);
#undef GATEHOUSE_MEMBER_POINTER

descriptor_state* state_of(tcp::socket& socket) noexcept {
    socket_base& base = socket;
    return (base.*pointer_to(socket_impl_of{})).get_implementation().reactor_data_;  // nullptr when closed
}

}  // namespace

bool read_drain_compiled_in() noexcept { return true; }

bool read_drain_enabled() noexcept { return enabled.load(std::memory_order_relaxed); }

void set_read_drain_enabled(bool on) noexcept { enabled.store(on, std::memory_order_relaxed); }

void watch_peer_close(tcp::socket& socket, error_code& ec) noexcept {
    ec = {};
    if (!read_drain_enabled()) return;
    descriptor_state* state = state_of(socket);
    if (state == nullptr) {
        ec = net::error::bad_descriptor;
        return;
    }
    std::uint32_t& registered = state->*pointer_to(registered_events_of{});
    // Registered already by the connect that waited: Asio adds EPOLLOUT only in that registration, made after
    // watch_peer_close_once_connected() put EPOLLRDHUP in the set. (Any other case costs one call; callers call
    // this once per socket.)
    if ((registered & EPOLLRDHUP) && (registered & EPOLLOUT)) return;
    epoll_event ev{};
    ev.events = registered | EPOLLRDHUP;
    ev.data.ptr = state;
    const int epoll_fd = (state->*pointer_to(reactor_of{}))->*pointer_to(epoll_fd_of{});
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, socket.native_handle(), &ev) != 0) {
        ec = error_code(errno, net::error::get_system_category());
        registered &= ~static_cast<std::uint32_t>(EPOLLRDHUP);  // not in the kernel: mark_drained must refuse
        return;
    }
    registered = ev.events;
}

void watch_peer_close_once_connected(tcp::socket& socket) noexcept {
    if (!read_drain_enabled()) return;
    if (descriptor_state* state = state_of(socket)) state->*pointer_to(registered_events_of{}) |= EPOLLRDHUP;
}

void mark_drained(tcp::socket& socket) noexcept {
    if (!read_drain_enabled()) return;
    descriptor_state* state = state_of(socket);
    if (state == nullptr || (state->*pointer_to(registered_events_of{}) & EPOLLRDHUP) == 0) return;
    // descriptor_state derives privately from the operation that carries the events; only a C-style cast
    // converts to an inaccessible base ([expr.cast]/4).
    const auto* as_operation = (const net::detail::scheduler_operation*)state;  // NOLINT(google-readability-casting)
    // EPOLLPRI: the kernel's recv stops at TCP urgent data, so a short read there does not mean empty.
    if (as_operation->*pointer_to(last_events_of{}) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) return;
    (state->*pointer_to(speculative_flags_of{}))[reactor::read_op] = false;
}

bool known_drained(tcp::socket& socket) noexcept {
    if (!read_drain_enabled()) return false;
    const descriptor_state* state = state_of(socket);
    return state != nullptr && !(state->*pointer_to(speculative_flags_of{}))[reactor::read_op];
}

}  // namespace gatehouse::proxy
