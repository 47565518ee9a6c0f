// Operator subcommands: each is one admin API call and a short human answer (or the JSON with --json).
#include "admin_commands.hpp"

#include <gatehouse/admin/admin_client.hpp>
#include <gatehouse/admin/admin_target.hpp>
#include <gatehouse/config/load.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

namespace gatehouse::cli {
namespace json = boost::json;

namespace {

struct common_options {
    std::string config_path = admin::default_config_path();
    std::string admin;  ///< host:port; from the configuration when empty
    std::string token;  ///< from the configuration (token_env / token_file) when empty
    bool json = false;
};

struct target {
    std::string address;
    std::string token;
};

/// Where the admin API is and the token to use: flags first, then the configuration file. The token goes only to
/// loopback or to an address given with --admin (choose_admin_target).
std::optional<target> resolve(const common_options& o) {
    target t{o.admin, o.token};
    if (!t.address.empty() && !t.token.empty()) return t;
    try {
        const auto cfg = config::load_config(o.config_path);
        if (t.address.empty() && !cfg.admin.enabled) {
            std::cerr << "gatehouse: " << o.config_path << " has no admin API (admin.listen = \"\")\n";
            return std::nullopt;
        }
        if (t.token.empty()) t.token = cfg.admin.token;
        if (t.token.empty() && cfg.admin.token_file_missing)
            std::cerr << "gatehouse: the token file " << cfg.admin.token_path
                      << " does not exist yet (gatehouse serve creates it at start)\n";
        const auto chosen = admin::choose_admin_target(t.address, cfg.admin.listen, !t.token.empty());
        if (!chosen.refusal.empty()) {
            std::cerr << "gatehouse: " << chosen.refusal << "\n";
            return std::nullopt;
        }
        t.address = chosen.address;
        if (!chosen.send_token) t.token.clear();
    } catch (const config::config_error& e) {
        if (t.address.empty()) {
            std::cerr << "gatehouse: cannot find the admin API address (give --admin HOST:PORT):\n" << e.what() << "\n";
            return std::nullopt;
        }
        if (const char* env = std::getenv("GATEHOUSE_ADMIN_TOKEN"); env && t.token.empty()) t.token = env;
    }
    return t;
}

std::string str(const json::value* v) {
    if (!v || v->is_null()) return "";
    if (v->is_string()) return std::string(v->get_string());
    return json::serialize(*v);
}

const json::value* at(const json::value& v, std::string_view key) {
    return v.is_object() ? v.get_object().if_contains(key) : nullptr;
}

void print_warnings(const json::value& body) {
    if (const auto* w = at(body, "warnings"); w && w->is_array())
        for (const auto& x : w->get_array()) std::cout << "warning: " << str(&x) << "\n";
}

std::string maintenance_line(const json::value& m) {
    if (const auto* e = at(m, "enabled"); !e || !e->is_bool() || !e->get_bool()) return "maintenance off";
    std::string line = "maintenance on";
    if (const auto since = str(at(m, "since")); !since.empty()) line += " since " + since;
    if (const auto reason = str(at(m, "reason")); !reason.empty()) line += ": " + reason;
    if (const auto verify = str(at(m, "verify_node")); !verify.empty())
        line += "\n  bypassed requests go to " + verify;
    return line;
}

void print_nodes(const json::value& status) {
    std::cout << maintenance_line(*at(status, "maintenance")) << "\n";
    if (const auto pinned = str(at(status, "pinned_node")); !pinned.empty())
        std::cout << "pinned to " << pinned << " (single-node mode)\n";
    const auto* nodes = at(status, "nodes");
    std::size_t width = 16;  // DNS nodes' names ("<name>@<address>") are longer
    if (nodes && nodes->is_array())
        for (const auto& n : nodes->get_array()) width = std::max(width, str(at(n, "name")).size() + 2);
    std::cout << std::left << std::setw(static_cast<int>(width)) << "NODE" << std::setw(24) << "ADDRESS" << std::setw(10) << "STATE"
              << std::setw(10) << "HEALTH" << std::setw(8) << "WEIGHT" << std::setw(10) << "IN-FLIGHT"
              << std::setw(11) << "WEBSOCKETS" << "LAST CHECK\n";
    if (!nodes || !nodes->is_array()) return;
    for (const auto& n : nodes->get_array()) {
        std::string last = "-";
        if (const auto* c = at(n, "last_check"); c && !c->is_null())
            last = str(at(*c, "result")) + " (" + str(at(*c, "detail")) + ") at " + str(at(*c, "at"));
        std::string address = str(at(n, "address"));
        if (const auto dns = str(at(n, "dns")); !dns.empty()) address += " (dns)";
        std::cout << std::left << std::setw(static_cast<int>(width)) << str(at(n, "name")) << std::setw(24) << address
                  << std::setw(10) << str(at(n, "state")) << std::setw(10) << str(at(n, "health")) << std::setw(8)
                  << str(at(n, "weight")) << std::setw(10) << str(at(n, "in_flight")) << std::setw(11)
                  << str(at(n, "websockets")) << last << "\n";
    }
}

/// One call; prints the answer. `human` turns a successful JSON answer into text.
int call(const common_options& o, std::string_view method, std::string_view path, const std::string& body,
         const std::function<void(const json::value&)>& human) {
    const auto t = resolve(o);
    if (!t) return 1;
    const auto answer = admin::call_admin(t->address, method, path, t->token, body);
    if (!answer.reached) {
        std::cerr << "gatehouse: cannot reach the admin API at " << t->address << ": " << answer.error
                  << " (is gatehouse running?)\n";
        return 1;
    }
    json::error_code ec;
    const auto value = json::parse(answer.body, ec);
    if (o.json) {
        std::cout << answer.body;
        if (!answer.body.empty() && answer.body.back() != '\n') std::cout << "\n";
        return answer.status == 200 ? 0 : 1;
    }
    if (answer.status != 200) {
        std::cerr << "gatehouse: " << answer.status << ": " << (ec ? answer.body : str(at(value, "error"))) << "\n";
        if (!ec)
            if (const auto* p = at(value, "problems"); p && p->is_array())
                for (const auto& x : p->get_array()) std::cerr << "  " << str(&x) << "\n";
        if (answer.status == 401 && t->token.empty())
            std::cerr << "(no token given: set GATEHOUSE_ADMIN_TOKEN, admin.token_file, or --token)\n";
        return 1;
    }
    if (ec) {
        std::cerr << "gatehouse: the admin API answered something that is not JSON\n";
        return 1;
    }
    human(value);
    print_warnings(value);
    return 0;
}

std::string json_text(const json::object& o) { return json::serialize(o); }

/// Node names are [A-Za-z0-9._-] (the configuration enforces it); anything else could change the API path.
bool valid_node_name(const std::string& name) {
    if (name.empty()) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

int invalid_node_name(const std::string& name) {
    std::cerr << "gatehouse: '" << name << "' is not a node name (letters, digits, '.', '_', '-')\n";
    return 1;
}

}  // namespace

std::function<int()> add_admin_commands(CLI::App& app, const char* version_text) {
    auto o = std::make_shared<common_options>();
    auto selected = std::make_shared<std::function<int()>>();
    const auto common = [&, o](CLI::App* cmd) {
        cmd->add_option("-c,--config", o->config_path, "Configuration file (admin address and token)")
            ->capture_default_str();
        cmd->add_option("--admin", o->admin, "Admin API address HOST:PORT (default: admin.listen of the config)");
        cmd->add_option("--token", o->token, "Admin token (default: admin.token_env / admin.token_file of the config)");
        cmd->add_flag("--json", o->json, "Print the API's JSON answer");
        cmd->set_version_flag("--version", version_text);
    };
    const auto on_run = [selected](CLI::App* cmd, std::function<int()> run) {
        cmd->callback([selected, run = std::move(run)] { *selected = run; });
    };

    auto* maintenance = app.add_subcommand("maintenance", "Turn maintenance mode on or off, or show it");
    maintenance->require_subcommand(1);
    maintenance->set_version_flag("--version", version_text);
    auto reason = std::make_shared<std::string>();
    auto verify = std::make_shared<std::string>();
    auto* on = maintenance->add_subcommand("on", "Serve the maintenance page to everyone but the bypass");
    common(on);
    on->add_option("--reason", *reason, "Shown to visitors and in NocoBase's upgrading screen");
    on->add_option("--verify-node", *verify, "Bypassed requests go only to this node");
    on_run(on, [o, reason, verify] {
        json::object body{{"enabled", true}, {"reason", *reason}};
        if (!verify->empty()) body["verify_node"] = *verify;
        return call(*o, "PUT", "/api/maintenance", json_text(body),
                    [](const json::value& v) { std::cout << maintenance_line(*at(v, "maintenance")) << "\n"; });
    });
    auto* off = maintenance->add_subcommand("off", "Send traffic to the nodes again");
    common(off);
    on_run(off, [o] {
        return call(*o, "DELETE", "/api/maintenance", "",
                    [](const json::value& v) { std::cout << maintenance_line(*at(v, "maintenance")) << "\n"; });
    });
    auto* mstatus = maintenance->add_subcommand("status", "Show whether maintenance is on");
    common(mstatus);
    on_run(mstatus, [o] {
        return call(*o, "GET", "/api/maintenance", "",
                    [](const json::value& v) { std::cout << maintenance_line(v) << "\n"; });
    });

    auto* nodes = app.add_subcommand("nodes", "List the nodes with their state, in-flight requests and last check");
    common(nodes);
    on_run(nodes, [o] { return call(*o, "GET", "/api/status", "", print_nodes); });

    auto node_name = std::make_shared<std::string>();
    const auto node_action = [&, o, node_name](const char* name, const char* help, const char* action,
                                               const char* done) {
        auto* cmd = app.add_subcommand(name, help);
        common(cmd);
        cmd->add_option("node", *node_name, "Node name")->required();
        on_run(cmd, [o, node_name, action, done] {
            if (!valid_node_name(*node_name)) return invalid_node_name(*node_name);
            return call(*o, "POST", "/api/nodes/" + *node_name + "/" + action, "",
                        [node_name, done](const json::value&) { std::cout << *node_name << " " << done << "\n"; });
        });
    };
    node_action("drain", "Send no new requests to a node; those in flight finish", "drain",
                "draining: no new requests, those in flight finish");
    node_action("disable", "Take a node out and stop checking it (it is being worked on)", "disable",
                "disabled: no requests, no health checks");
    node_action("enable", "Put a drained or disabled node back (after a passing check if it was disabled)", "enable",
                "enabled");

    auto* pin = app.add_subcommand("pin", "Single-node mode: every new request goes to one node, the others drain");
    common(pin);
    pin->add_option("node", *node_name, "Node name")->required();
    on_run(pin, [o, node_name] {
        if (!valid_node_name(*node_name)) return invalid_node_name(*node_name);
        return call(*o, "POST", "/api/pin", json_text({{"node", *node_name}}), [node_name](const json::value&) {
            std::cout << "pinned to " << *node_name << ": every new request goes to it, the other nodes drain\n";
        });
    });
    auto* unpin = app.add_subcommand("unpin", "Leave single-node mode: normal balancing");
    common(unpin);
    on_run(unpin, [o] {
        return call(*o, "DELETE", "/api/pin", "",
                    [](const json::value&) { std::cout << "unpinned: normal balancing\n"; });
    });

    auto* reload = app.add_subcommand("reload", "Re-read the configuration file of the running gatehouse");
    common(reload);
    on_run(reload, [o] {
        return call(*o, "POST", "/api/reload", "", [](const json::value& v) {
            std::cout << "configuration reloaded (generation " << str(at(v, "generation")) << ")\n";
        });
    });

    return [selected] { return *selected ? (*selected)() : -1; };
}

}  // namespace gatehouse::cli
