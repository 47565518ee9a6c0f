// libFuzzer target: `import-nginx` (gatehouse::nginx::import_config) on arbitrary text.
// Properties: no crash and no sanitizer report; a failure names a line within the text (or 0 for "no node"); a
// success is TOML that toml++ parses, whatever bytes the Nginx file held (comments and strings cannot break out).
#include <gatehouse/nginx/import.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto r = gatehouse::nginx::import_config(text, "fuzz.conf");
    if (r.error) {
        const auto lines = static_cast<unsigned>(std::count(text.begin(), text.end(), '\n')) + 1;
        if (r.error->line > lines || r.error->message.empty() || !r.toml.empty()) {
            std::fprintf(stderr, "bad error: line %u of %u: %s\n", r.error->line, lines, r.error->message.c_str());
            std::abort();
        }
        return 0;
    }
    try {
        (void)toml::parse(r.toml, std::string_view("imported.toml"));
    } catch (const toml::parse_error& e) {
        std::fprintf(stderr, "not TOML: %s at line %u\n%s\n", std::string(e.description()).c_str(),
                     e.source().begin.line, r.toml.c_str());
        std::abort();
    }
    return 0;
}
