// Active HTTP health checks and the judgement of their answers.
#include <gatehouse/health/http_probe.hpp>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include <memory>

namespace gatehouse::health {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

constexpr std::size_t max_health_body = 64 * 1024;
constexpr std::size_t max_shown_message = 120;

/// The `error` object of NocoBase's JSON error body `value`, or nullptr.
const boost::json::object* error_of(const boost::json::value& value) {
    if (!value.is_object()) return nullptr;
    const auto* error = value.as_object().if_contains("error");
    return error && error->is_object() ? &error->as_object() : nullptr;
}

}  // namespace

std::string nocobase_message(std::string_view body) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(body, ec);
    const auto* error = ec ? nullptr : error_of(value);
    if (!error) return {};
    const auto* message = error->if_contains("message");
    if (!message || !message->is_string()) return {};
    std::string out;
    for (const char c : message->as_string()) {
        if (out.size() >= max_shown_message) break;
        out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;  // one log line, whatever it holds
    }
    return out;
}

std::string nocobase_maintaining(std::string_view body) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(body, ec);
    const auto* error = ec ? nullptr : error_of(value);
    if (!error) return {};
    const auto& e = *error;
    const auto* maintaining = e.if_contains("maintaining");
    if (!maintaining || !maintaining->is_bool() || !maintaining->as_bool()) return {};
    std::string out = "maintaining";
    if (const auto* code = e.if_contains("code"); code && code->is_string()) out = std::string(code->as_string());
    if (const auto* command = e.if_contains("command"); command && command->is_object()) {
        if (const auto* name = command->as_object().if_contains("name"); name && name->is_string())
            out += " " + std::string(name->as_string());
    }
    return out;
}

probe_outcome judge_health_answer(unsigned status, std::string_view body, const config::health_check_config& cfg) {
    bool expected = false;
    for (const auto& r : cfg.expect_status) expected = expected || (status >= r.low && status <= r.high);
    if (expected) {
        if (cfg.expect_body.empty() || trim(body) == cfg.expect_body) return {check_result::pass, "ok"};
        std::string shown(trim(body).substr(0, 40));
        return {check_result::fail, "status " + std::to_string(status) + " with body '" + shown + "', expected '" +
                                        cfg.expect_body + "'"};
    }
    if (status == 503) {
        if (auto code = nocobase_maintaining(body); !code.empty()) {
            const auto message = nocobase_message(body);
            return {check_result::starting, message.empty() ? code : code + ": " + message};
        }
    }
    return {check_result::fail, "status " + std::to_string(status)};
}

namespace {

/// The check's request and its answer over `stream` (the socket, or TLS over it).
template <class Stream>
net::awaitable<std::tuple<const char*, error_code>> exchange_check(Stream& stream, const std::string& request,
                                                                   http::response_parser<http::string_body>& parser) {
    auto [wec, wn] = co_await net::async_write(stream, net::buffer(request), use_tuple);
    if (wec) co_return std::tuple{"send", wec};
    beast::flat_buffer buffer;
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (rec) co_return std::tuple{"response", rec};
    co_return std::tuple{"", error_code{}};
}

}  // namespace

net::awaitable<probe_outcome> probe_node(tcp::endpoint endpoint, std::string host,
                                         const config::health_check_config& cfg,
                                         std::shared_ptr<node_tls::ssl::context> tls, node_tls::peer_names names) {
    auto executor = co_await net::this_coro::executor;
    // The watchdog outlives this frame if it fires late, so what it touches is shared.
    struct shared_state {
        tcp::socket socket;
        bool timed_out = false;
        explicit shared_state(const net::any_io_executor& ex) : socket(ex) {}
    };
    auto state = std::make_shared<shared_state>(executor);
    net::steady_timer watchdog(executor, cfg.timeout);
    watchdog.async_wait([state](const error_code& ec) {
        if (ec) return;
        state->timed_out = true;
        error_code ignored;
        state->socket.close(ignored);
    });
    const auto failed = [&](std::string_view step, const error_code& ec) {
        watchdog.cancel();
        return probe_outcome{check_result::fail,
                             std::string(step) + ": " + (state->timed_out ? std::string("timed out") : ec.message())};
    };

    auto [cec] = co_await state->socket.async_connect(endpoint, use_tuple);
    if (cec) co_return failed("connect", cec);
    const std::string request = "GET " + cfg.path + " HTTP/1.1\r\nHost: " + host +
                                "\r\nUser-Agent: gatehouse-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_health_body);
    const char* step = "";
    error_code ec;
    if (tls) {
        node_tls::ssl::stream<tcp::socket&> stream(state->socket, *tls);
        if (!node_tls::prepare(stream.native_handle(), names)) co_return failed("tls", net::error::invalid_argument);
        auto [hec] = co_await stream.async_handshake(node_tls::ssl::stream_base::client, use_tuple);
        if (hec) {
            watchdog.cancel();
            const std::string why = state->timed_out ? "timed out" : node_tls::failure_detail(stream.native_handle(), hec);
            co_return probe_outcome{check_result::fail, "tls: " + why};
        }
        std::tie(step, ec) = co_await exchange_check(stream, request, parser);
    } else {
        std::tie(step, ec) = co_await exchange_check(state->socket, request, parser);
    }
    if (ec) co_return failed(step, ec);
    watchdog.cancel();
    error_code ignored;
    state->socket.close(ignored);
    co_return judge_health_answer(parser.get().result_int(), parser.get().body(), cfg);
}

}  // namespace gatehouse::health
