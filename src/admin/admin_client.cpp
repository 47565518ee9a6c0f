// One admin API call over a fresh connection, bounded in time.
#include <gatehouse/admin/admin_client.hpp>

#include <gatehouse/net.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace gatehouse::admin {
namespace {

net::awaitable<void> exchange(tcp::endpoint endpoint, http::request<http::string_body> request, client_answer& out) {
    beast::tcp_stream stream(co_await net::this_coro::executor);
    auto [cec] = co_await stream.async_connect(endpoint, use_tuple);
    if (cec) {
        out.error = cec.message();
        co_return;
    }
    auto [wec, wn] = co_await http::async_write(stream, request, use_tuple);
    if (wec) {
        out.error = wec.message();
        co_return;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (rec) {
        out.error = rec.message();
        co_return;
    }
    out.reached = true;
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
}

}  // namespace

client_answer call_admin(const std::string& address, std::string_view method, std::string_view target,
                         const std::string& token, std::string_view json_body, std::chrono::milliseconds timeout) {
    client_answer out;
    const auto colon = address.rfind(':');
    error_code ec;
    std::string host = colon == std::string::npos ? address : address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto ip = net::ip::make_address(host, ec);
    unsigned long port = 0;
    try {
        port = colon == std::string::npos ? 0 : std::stoul(address.substr(colon + 1));
    } catch (const std::exception&) {
        port = 0;
    }
    if (ec || port == 0 || port > 65535) {
        out.error = "'" + address + "' is not a numeric host:port address";
        return out;
    }
    http::request<http::string_body> request;
    request.method(http::string_to_verb(method));
    request.target(target);
    request.version(11);
    request.set(http::field::host, address);
    request.set(http::field::user_agent, "gatehouse-cli");
    request.set(http::field::connection, "close");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    if (!json_body.empty()) {
        request.set(http::field::content_type, "application/json");
        request.body() = std::string(json_body);
    }
    request.prepare_payload();

    net::io_context context(1);
    bool done = false;
    net::co_spawn(context, exchange(tcp::endpoint(ip, static_cast<std::uint16_t>(port)), std::move(request), out),
                  [&done](std::exception_ptr) { done = true; });
    context.run_for(timeout);
    if (!done) {
        out.reached = false;
        out.error = "no answer within " + std::to_string(timeout.count() / 1000) + " s";
    }
    return out;
}

}  // namespace gatehouse::admin
