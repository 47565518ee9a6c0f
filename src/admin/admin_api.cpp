// Admin API routing, authentication and JSON bodies.
#include <gatehouse/admin/admin_api.hpp>

#include <gatehouse/admin/status_page.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/util/constant_time.hpp>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

namespace gatehouse::admin {
namespace json = boost::json;
namespace {

admin_response json_answer(unsigned status, const json::value& body) {
    admin_response r;
    r.status = status;
    r.body = json::serialize(body) + "\n";
    return r;
}

admin_response error_answer(unsigned status, std::string message, std::vector<std::string> problems = {}) {
    json::object body{{"error", std::move(message)}};
    if (!problems.empty()) {
        json::array list;
        for (auto& p : problems) list.emplace_back(std::move(p));
        body["problems"] = std::move(list);
    }
    return json_answer(status, body);
}

admin_response method_not_allowed(std::string_view allowed) {
    auto r = error_answer(405, "method not allowed; use " + std::string(allowed));
    r.headers.emplace_back("Allow", std::string(allowed));
    return r;
}

json::array warnings_json(const std::vector<std::string>& warnings) {
    json::array out;
    for (const auto& w : warnings) out.emplace_back(w);
    return out;
}

/// The answer to an action: `body` plus its warnings, or its error.
admin_response action_answer(const control::action_result& result, json::object body) {
    if (!result.ok) return error_answer(result.status, result.error, result.problems);
    body["warnings"] = warnings_json(result.warnings);
    return json_answer(200, body);
}

/// Parses a JSON object body ("" counts as {}); on failure `error` says why.
std::optional<json::object> object_body(const std::string& body, std::string& error) {
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object{};
    json::error_code ec;
    auto value = json::parse(body, ec);
    if (ec) {
        error = "malformed JSON body: " + ec.message();
        return std::nullopt;
    }
    if (!value.is_object()) {
        error = "the JSON body must be an object";
        return std::nullopt;
    }
    return std::move(value.get_object());
}

/// A string member (absent or null = ""); a wrong type sets `error`.
std::string string_member(const json::object& o, std::string_view key, std::string& error) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return {};
    if (!v->is_string()) {
        error = "'" + std::string(key) + "' must be a string";
        return {};
    }
    return std::string(v->get_string());
}

/// Members other than `allowed` are mistakes worth reporting (a typo would otherwise be ignored silently).
bool only_members(const json::object& o, std::initializer_list<std::string_view> allowed, std::string& error) {
    for (const auto& [key, value] : o) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            error = "unknown member '" + std::string(key) + "'";
            return false;
        }
    }
    return true;
}

/// The name part of a Host header: without the port, IPv6 brackets removed; nullopt when malformed.
std::optional<std::string_view> host_name(std::string_view host) {
    std::string_view name = host;
    if (name.starts_with('[')) {
        const auto close = name.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        name = name.substr(1, close - 1);
    } else if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
        name = name.substr(0, colon);
    }
    return name;
}

/// True for "localhost", "127.0.0.1", "[::1]" and the like, with or without a port.
bool loopback_host(std::string_view host) {
    const auto name = host_name(host);
    if (!name) return false;
    if (*name == "localhost") return true;
    error_code ec;
    const auto address = net::ip::make_address(std::string(*name), ec);
    return !ec && address.is_loopback();
}

/// True for "localhost" or any IP address literal, with or without a port. DNS rebinding needs a name the attacker
/// controls, so a page that reads an answer with such a Host cannot be one of its pages.
bool literal_host(std::string_view host) {
    const auto name = host_name(host);
    if (!name) return false;
    if (*name == "localhost") return true;
    error_code ec;
    net::ip::make_address(std::string(*name), ec);
    return !ec;
}

/// The Host rule of the answers served without a token (/healthz, /metrics without metrics.require_token).
std::optional<admin_response> refuse_named_host(const admin_request& request, std::string_view path) {
    if (literal_host(request.host)) return std::nullopt;
    log::warning("admin: refused " + std::string(http::to_string(request.method)) + " " + std::string(path) +
                 " from " + request.peer + ": Host is neither an IP address nor localhost");
    return error_answer(403, "the Host must be an IP address or localhost");
}

/// "" when allowed, else the reason the request is refused (and the status to send).
std::optional<admin_response> refuse(const control::controller& controller, const admin_request& request,
                                     std::string_view path) {
    const std::string& token = controller.config().admin.token;
    const auto log_refusal = [&](std::string_view why) {
        log::warning("admin: refused " + std::string(http::to_string(request.method)) + " " + std::string(path) +
                     " from " + request.peer + ": " + std::string(why));
    };
    if (token.empty() && !controller.config().admin.allow_no_token) {
        // serve, check and reload refuse such a configuration; should one get here anyway, nobody is let in.
        log_refusal("no admin token is configured and admin.allow_no_token is off");
        auto refused = error_answer(401, "no admin token is configured");
        refused.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gatehouse\"");
        return refused;
    }
    if (token.empty()) {
        if (!request.peer_is_loopback) {
            log_refusal("no admin token is configured and the client is not on loopback");
            return error_answer(403, "no admin token is configured: only loopback clients may use the admin API");
        }
        // Without a token, "on loopback" includes a browser on this machine visiting some other site: refuse what a
        // web page could send (another Origin: cross-site requests; a Host that is not a loopback name: DNS rebinding).
        if (!loopback_host(request.host)) {
            log_refusal("no admin token is configured and Host is not a loopback address");
            return error_answer(403, "no admin token is configured: the Host must be localhost or a loopback address");
        }
        if (!request.origin.empty() && request.origin != "http://" + request.host) {
            log_refusal("no admin token is configured and the request comes from another origin (" + request.origin +
                        ")");
            return error_answer(403, "cross-origin request refused");
        }
        return std::nullopt;
    }
    constexpr std::string_view scheme = "Bearer ";
    const std::string_view given = request.authorization;
    std::optional<admin_response> unauthorized;
    if (given.empty() || given.size() <= scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), given.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
        log_refusal("missing bearer token");
        unauthorized = error_answer(401, "missing token: send 'Authorization: Bearer <token>'");
    } else if (!util::constant_time_equal(given.substr(scheme.size()), token)) {
        log_refusal("wrong token");
        unauthorized = error_answer(401, "wrong token");
    } else {
        return std::nullopt;
    }
    unauthorized->headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gatehouse\"");
    return unauthorized;
}

net::awaitable<admin_response> maintenance_route(control::controller& c, const admin_request& r,
                                                 const std::string& actor) {
    if (r.method == http::verb::get) co_return json_answer(200, c.maintenance_json());
    if (r.method == http::verb::delete_) {
        std::string none_reason, none_node;  // named: GCC PR 100611
        const auto result = co_await c.set_maintenance(false, std::move(none_reason), std::move(none_node), actor);
        co_return action_answer(result, {{"maintenance", c.maintenance_json()}});
    }
    if (r.method != http::verb::put && r.method != http::verb::post) co_return method_not_allowed("GET, PUT, DELETE");
    std::string error;
    auto body = object_body(r.body, error);
    if (!body || !only_members(*body, {"enabled", "reason", "verify_node"}, error)) co_return error_answer(400, error);
    bool enabled = true;
    if (const auto* v = body->if_contains("enabled")) {
        if (!v->is_bool()) co_return error_answer(400, "'enabled' must be true or false");
        enabled = v->get_bool();
    }
    auto reason = string_member(*body, "reason", error);
    auto verify = string_member(*body, "verify_node", error);
    if (!error.empty()) co_return error_answer(400, error);
    if (reason.size() > 1024) co_return error_answer(400, "'reason' is longer than 1024 characters");
    if (!enabled && (!reason.empty() || !verify.empty()))
        co_return error_answer(400, "'reason' and 'verify_node' apply only with \"enabled\": true");
    const auto result = co_await c.set_maintenance(enabled, std::move(reason), std::move(verify), actor);
    co_return action_answer(result, {{"maintenance", c.maintenance_json()}});
}

net::awaitable<admin_response> pin_route(control::controller& c, const admin_request& r, const std::string& actor) {
    const auto pinned = [&] {
        return c.state().pinned_node.empty() ? json::value(nullptr) : json::value(c.state().pinned_node);
    };
    if (r.method == http::verb::get) co_return json_answer(200, json::object{{"pinned_node", pinned()}});
    if (r.method == http::verb::delete_) {
        const auto result = co_await c.unpin(actor);
        co_return action_answer(result, {{"pinned_node", pinned()}});
    }
    if (r.method != http::verb::post && r.method != http::verb::put) co_return method_not_allowed("GET, POST, DELETE");
    std::string error;
    auto body = object_body(r.body, error);
    if (!body || !only_members(*body, {"node"}, error)) co_return error_answer(400, error);
    auto node = string_member(*body, "node", error);
    if (!error.empty()) co_return error_answer(400, error);
    if (node.empty()) co_return error_answer(400, "'node' is required, e.g. {\"node\": \"node1\"}");
    const auto result = co_await c.pin(std::move(node), actor);
    co_return action_answer(result, {{"pinned_node", pinned()}});
}

net::awaitable<admin_response> node_route(control::controller& c, const admin_request& r, std::string_view rest,
                                          const std::string& actor) {
    // rest = "{name}/{action}"
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) co_return error_answer(404, "no such admin endpoint");
    const std::string name(rest.substr(0, slash));
    const std::string_view action = rest.substr(slash + 1);
    if (action.find('/') != std::string_view::npos) co_return error_answer(404, "no such admin endpoint");
    model::node_admin admin;
    if (action == "drain") admin = model::node_admin::draining;
    else if (action == "disable") admin = model::node_admin::disabled;
    else if (action == "enable") admin = model::node_admin::active;
    else co_return error_answer(404, "unknown node action '" + std::string(action) + "' (drain, disable, enable)");
    if (r.method != http::verb::post) co_return method_not_allowed("POST");
    const auto result = co_await c.set_node_admin(name, admin, actor);
    co_return action_answer(result, {{"node", name}, {"admin", model::to_string(admin)}});
}

}  // namespace

net::awaitable<admin_response> handle_admin_request(control::controller& c, const admin_request& r) {
    std::string_view path = r.target;
    if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);

    if (path == "/healthz") {
        if (r.method != http::verb::get && r.method != http::verb::head) co_return method_not_allowed("GET");
        if (auto refused = refuse_named_host(r, path)) co_return std::move(*refused);
        admin_response ok;
        ok.content_type = "text/plain; charset=utf-8";
        ok.body = "ok\n";
        co_return ok;
    }
    if ((path == "/" || path == "/index.html") && !r.metrics_only) {
        // The page holds no data: it asks for the token and reads /api/status with it.
        if (r.method != http::verb::get && r.method != http::verb::head) co_return method_not_allowed("GET");
        admin_response page;
        page.content_type = "text/html; charset=utf-8";
        page.body = std::string(status_page_html());
        co_return page;
    }
    const auto& metrics_cfg = c.config().metrics;
    if (path == "/metrics" && metrics_cfg.enabled) {
        if (r.method != http::verb::get && r.method != http::verb::head) co_return method_not_allowed("GET");
        auto refused = metrics_cfg.require_token ? refuse(c, r, path) : refuse_named_host(r, path);
        if (refused) co_return std::move(*refused);
        admin_response m;
        m.content_type = "text/plain; version=0.0.4; charset=utf-8";
        m.body = co_await c.metrics_text();
        co_return m;
    }
    if (r.metrics_only) co_return error_answer(404, "this listener serves /metrics only");
    if (auto refused = refuse(c, r, path)) co_return std::move(*refused);
    const std::string actor = "admin API client " + r.peer;

    if (path == "/api/status") {
        if (r.method != http::verb::get) co_return method_not_allowed("GET");
        co_return json_answer(200, co_await c.status());
    }
    if (path == "/api/maintenance") co_return co_await maintenance_route(c, r, actor);
    if (path == "/api/pin") co_return co_await pin_route(c, r, actor);
    if (path == "/api/reload") {
        if (r.method != http::verb::post) co_return method_not_allowed("POST");
        const auto result = co_await c.reload(actor);
        co_return action_answer(result, {{"reloaded", true}, {"generation", c.snapshot()->generation}});
    }
    constexpr std::string_view nodes_prefix = "/api/nodes/";
    if (path.starts_with(nodes_prefix)) co_return co_await node_route(c, r, path.substr(nodes_prefix.size()), actor);
    co_return error_answer(404, "no such admin endpoint: " + std::string(path));
}

}  // namespace gatehouse::admin
