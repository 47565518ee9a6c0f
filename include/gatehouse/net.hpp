// Namespace aliases for Asio and Beast; the only place they are spelled out.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace gatehouse {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

/// Completion token for coroutines: errors come back as values, never as exceptions.
inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

}  // namespace gatehouse
