// The gatehouse command: argv in, exit code out. Subcommands: serve, check, demo, upstream, and the operator
// commands that talk to a running gatehouse's admin API (maintenance, nodes, drain, disable, enable, pin, unpin,
// reload), and import-nginx.
#include "cli/admin_commands.hpp"
#include "cli/import_nginx.hpp"

#include <gatehouse/admin/admin_target.hpp>
#include <gatehouse/config/admin_token.hpp>
#include <gatehouse/config/load.hpp>
#include <gatehouse/config/loopback_only.hpp>
#include <gatehouse/demo/demo_upstream.hpp>
#include <gatehouse/log/event_log.hpp>
#include <gatehouse/proxy/read_drain_check.hpp>
#include <gatehouse/server/fd_limit.hpp>
#include <gatehouse/server/server.hpp>
#include <gatehouse/tls/server_tls.hpp>

#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>

#ifndef GATEHOUSE_VERSION
#define GATEHOUSE_VERSION "dev"
#endif

namespace {

using namespace gatehouse;

constexpr const char* version_text = "gatehouse " GATEHOUSE_VERSION;

/// Loads the file or prints every problem; nullopt means "exit 1".
std::optional<config::config> load_or_report(const std::string& path) {
    try {
        return config::load_config(path);
    } catch (const config::config_error& e) {
        std::cerr << e.what() << "\n";
        return std::nullopt;
    }
}

/// `check`: reads [tls]'s certificates and keys; prints the problems (false) or the expiry warnings.
bool certificates_ok(const config::config& cfg) {
    const auto certificates = tls::load_server_tls(cfg.tls, cfg.source);
    for (const auto& p : certificates.problems) std::cerr << p << "\n";
    for (const auto& w : certificates.warnings) std::cout << "warning: " << w << "\n";
    return certificates.problems.empty();
}

/// The admin token rule for serve: no token without admin.allow_no_token is an error; a missing
/// admin.token_file is created (random, mode 0600). False means "exit 1" (the reason is printed).
bool admin_token_ready(config::config& cfg) {
    const auto status = config::admin_token_status_of(cfg.admin);
    if (status == config::admin_token_status::missing) {
        std::cerr << config::missing_admin_token_problem(cfg).to_string() << "\n";
        return false;
    }
    if (status != config::admin_token_status::file_to_create) return true;
    if (const auto error = config::create_missing_token_file(cfg.admin); !error.empty()) {
        std::cerr << cfg.source << ": " << error << "\n";
        return false;
    }
    log::info("admin: created the token file " + cfg.admin.token_path +
              " (mode 0600, 32 random bytes as hex); the operator commands read it from there");
    return true;
}

int serve(config::config cfg, server::server_options options,
          std::unique_ptr<demo::demo_upstreams> demo_nodes = nullptr) {
    try {
        log::set_min_level(static_cast<log::level>(cfg.log.level));
        for (const auto& w : config::config_warnings(cfg)) log::warning(w);
        const auto fds = server::raise_fd_limit();
        if (fds.error != 0) log::warning(server::describe(fds));
        else log::info(server::describe(fds));
        proxy::start_read_drain();
        server::server s(std::move(cfg), std::move(options));
        if (demo_nodes) demo_nodes->start();
        const int code = s.run();
        if (demo_nodes) demo_nodes->stop();
        return code;
    } catch (const std::exception& e) {
        log::error(std::string("cannot start: ") + e.what());
        return 1;
    }
}

int demo_mode(const std::string& path, server::server_options options, bool public_listeners) {
    auto cfg = load_or_report(path);
    if (!cfg) return 1;
    // A demo is for this machine: its listeners move to loopback unless --public.
    options.loopback_only = !public_listeners;
    if (!public_listeners)
        for (const auto& change : config::move_listeners_to_loopback(*cfg))
            log::info("demo: listening on loopback only: " + change + " (--public listens as configured)");
    // A demo needs no token: without one (a missing token file is not created), loopback clients are served.
    options.admin_allow_no_token = cfg->admin.allow_no_token = true;
    if (cfg->admin.enabled && cfg->admin.token.empty())
        log::info("demo: the admin API serves loopback clients without a token (admin.allow_no_token)");
    std::vector<demo::demo_node> nodes;
    for (const auto& n : cfg->upstream.nodes) {
        const auto address = net::ip::make_address(n.address.ip);
        if (!address.is_loopback()) {
            log::error("demo: node " + n.name + " (" + n.address.text +
                       ") is not a loopback address; demo nodes only run on this machine");
            return 1;
        }
        nodes.push_back({n.name, tcp::endpoint(address, n.address.port)});
    }
    try {
        auto demo_nodes = std::make_unique<demo::demo_upstreams>(std::move(nodes));
        log::info("demo: " + std::to_string(cfg->upstream.nodes.size()) + " built-in demo node(s) started");
        return serve(std::move(*cfg), std::move(options), std::move(demo_nodes));
    } catch (const std::exception& e) {
        log::error(std::string("cannot start: ") + e.what());
        return 1;
    }
}

int upstream_mode(const std::string& listen, const std::string& name) {
    try {
        auto cfg = config::parse_config("[[upstream.node]]\nname = \"" + name + "\"\naddress = \"" + listen + "\"\n",
                                        "--listen");
        const auto& a = cfg.upstream.nodes.front().address;
        demo::demo_upstreams nodes({{name, tcp::endpoint(net::ip::make_address(a.ip), a.port)}});
        log::info("demo node " + name + " listening on " + a.text);
        nodes.run();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"gatehouse: a Layer-7 load balancer for NocoBase clusters"};
    app.set_version_flag("--version", version_text);
    app.require_subcommand(1);
    std::string config_path = admin::default_config_path();

    bool start_in_maintenance = false;
    auto* serve_cmd = app.add_subcommand("serve", "Run the proxy on a configuration file");
    serve_cmd->add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
    serve_cmd->add_flag("--maintenance", start_in_maintenance, "Start in maintenance mode");
    serve_cmd->set_version_flag("--version", version_text);

    auto* check_cmd = app.add_subcommand("check", "Validate a configuration file (like nginx -t)");
    check_cmd->add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
    check_cmd->set_version_flag("--version", version_text);

    auto* demo_cmd = app.add_subcommand("demo", "Run the proxy plus built-in demo nodes on the configured node addresses");
    demo_cmd->add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
    demo_cmd->add_flag("--maintenance", start_in_maintenance, "Start in maintenance mode");
    bool public_listeners = false;
    demo_cmd->add_flag("--public", public_listeners,
                       "Listen on the configured addresses (default: their loopback equivalents, same ports)");
    demo_cmd->set_version_flag("--version", version_text);

    std::string listen = "127.0.0.1:13001", name = "node1";
    auto* upstream_cmd = app.add_subcommand("upstream", "Run one built-in demo node (for benchmarks and tests)");
    upstream_cmd->add_option("--listen", listen, "Address to listen on")->capture_default_str();
    upstream_cmd->add_option("--name", name, "Node name it reports")->capture_default_str();
    upstream_cmd->set_version_flag("--version", version_text);

    const auto run_admin_command = cli::add_admin_commands(app, version_text);
    const auto run_import_nginx = cli::add_import_nginx(app, version_text);

    CLI11_PARSE(app, argc, argv);

    if (*serve_cmd) {
        auto cfg = load_or_report(config_path);
        if (!cfg || !admin_token_ready(*cfg)) return 1;
        return serve(std::move(*cfg), {config_path, start_in_maintenance});
    }
    if (*check_cmd) {
        auto cfg = load_or_report(config_path);
        if (!cfg) return 1;
        if (auto problem = config::admin_token_problem(*cfg, false)) {
            std::cerr << problem->to_string() << "\n";
            return 1;
        }
        if (config::admin_token_status_of(cfg->admin) == config::admin_token_status::file_to_create)
            std::cout << "note: admin.token_file " << cfg->admin.token_path
                      << " does not exist yet: gatehouse serve creates it (mode 0600) at start\n";
        if (!certificates_ok(*cfg)) return 1;
        for (const auto& w : config::config_warnings(*cfg)) std::cout << "warning: " << w << "\n";
        if (const auto w = server::fd_limit_warning(*cfg, std::thread::hardware_concurrency(),
                                                    server::current_fd_limits().hard))
            std::cout << "warning: " << *w << "\n";
        std::cout << "configuration OK\n";
        return 0;
    }
    if (*demo_cmd) return demo_mode(config_path, {config_path, start_in_maintenance}, public_listeners);
    if (*upstream_cmd) return upstream_mode(listen, name);
    if (const int code = run_admin_command(); code >= 0) return code;
    if (const int code = run_import_nginx(); code >= 0) return code;
    return 1;
}
