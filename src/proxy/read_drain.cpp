// Reaching Asio's per-socket "try a speculative read" flag (see read_drain.hpp for why and when).
#include <gatehouse/proxy/read_drain.hpp>

#include <boost/asio/detail/epoll_reactor.hpp>
#include <boost/version.hpp>

// Checked against Asio 1.81's epoll_reactor::start_op and descriptor_state::perform_io: start_op skips the
// speculative read and queues a read while try_speculative_[read_op] is false; perform_io sets it back to true on
// every readiness event before it performs the queued read. Re-check both before changing this line.
static_assert(BOOST_VERSION / 100 == 1081, "read_drain relies on Asio 1.81's epoll reactor; re-check it");
#if !defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) || defined(BOOST_ASIO_DISABLE_EPOLL)
#error "read_drain needs Asio's epoll reactor"
#endif

namespace gatehouse::proxy {
namespace {

using reactor = net::detail::epoll_reactor;
using socket_base = net::basic_socket<tcp, net::any_io_executor>;
using socket_impl = net::detail::io_object_impl<net::detail::reactive_socket_service<tcp>, net::any_io_executor>;
static_assert(std::is_base_of_v<socket_base, tcp::socket>);

// The standard's one sanctioned way to name a private member from outside: access checking does not apply to
// the arguments of an explicit instantiation ([temp.spec.general]/6). Each tag gets a friend that returns the
// member pointer the instantiation below was given.
template <class Tag, typename Tag::type Member>
struct member_pointer {
    friend typename Tag::type pointer_to(Tag) { return Member; }
};

struct socket_impl_tag {
    using type = socket_impl socket_base::*;
    friend type pointer_to(socket_impl_tag);
};
template struct member_pointer<socket_impl_tag, &socket_base::impl_>;

struct speculative_flags_tag {
    using type = bool (reactor::descriptor_state::*)[reactor::max_ops];
    friend type pointer_to(speculative_flags_tag);
};
template struct member_pointer<speculative_flags_tag, &reactor::descriptor_state::try_speculative_>;

bool* speculative_read_flag(tcp::socket& socket) noexcept {
    socket_base& base = socket;
    reactor::per_descriptor_data state = (base.*pointer_to(socket_impl_tag{})).get_implementation().reactor_data_;
    if (state == nullptr) return nullptr;  // closed
    return &(state->*pointer_to(speculative_flags_tag{}))[reactor::read_op];
}

}  // namespace

bool known_drained(tcp::socket& socket) noexcept {
    const bool* flag = speculative_read_flag(socket);
    return flag != nullptr && !*flag;
}

void mark_drained(tcp::socket& socket) noexcept {
    if (bool* flag = speculative_read_flag(socket)) *flag = false;
}

}  // namespace gatehouse::proxy
