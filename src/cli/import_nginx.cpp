// `gatehouse import-nginx FILE [-o OUT]`: reads an Nginx configuration, writes gatehouse TOML (nginx/import).
#include "cli/import_nginx.hpp"

#include <gatehouse/nginx/import.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

namespace gatehouse::cli {

namespace {

struct import_options {
    std::string input;
    std::string output;  ///< "" = stdout
};

int run_import(const import_options& o) {
    std::ifstream in(o.input, std::ios::binary);
    if (!in) {
        std::cerr << o.input << ": cannot be read\n";
        return 1;
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto r = nginx::import_config(text, o.input);
    if (r.error) {
        std::cerr << o.input << (r.error->line ? ":" + std::to_string(r.error->line) : std::string()) << ": "
                  << r.error->message << "\n";
        return 1;
    }
    if (o.output.empty()) {
        std::cout << r.toml;
        return 0;
    }
    std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
    out << r.toml;
    if (!out.flush()) {
        std::cerr << o.output << ": cannot be written\n";
        return 1;
    }
    std::cerr << "wrote " << o.output << "; check it with: gatehouse check -c " << o.output << "\n";
    return 0;
}

}  // namespace

std::function<int()> add_import_nginx(CLI::App& app, const char* version_text) {
    auto options = std::make_shared<import_options>();
    auto* cmd = app.add_subcommand("import-nginx",
                                   "Translate an Nginx configuration (upstream, listen, timeouts...) to gatehouse TOML; "
                                   "what cannot be translated is listed as comments with its line");
    cmd->add_option("FILE", options->input, "Nginx configuration file")->required();
    cmd->add_option("-o,--output", options->output, "Write the TOML here instead of stdout");
    cmd->set_version_flag("--version", version_text);
    return [cmd, options] { return *cmd ? run_import(*options) : -1; };
}

}  // namespace gatehouse::cli
