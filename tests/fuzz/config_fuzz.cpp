// libFuzzer target: the TOML configuration loader (gatehouse::config::parse_config) on arbitrary text.
// Properties: no crash and no sanitizer report; a failure is always a config_error with at least one problem,
// each rendering to text; a success has a node and gives warnings without failing.
//
// parse_config resolves host names; a fuzzer must not send DNS queries, so this target replaces getaddrinfo
// with one that resolves numeric addresses and "localhost" only (the real one is called with AI_NUMERICHOST).
#include <gatehouse/config/load.hpp>

#include <dlfcn.h>
#include <netdb.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
    using real_t = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
    static const auto real = reinterpret_cast<real_t>(dlsym(RTLD_NEXT, "getaddrinfo"));
    addrinfo numeric{};
    if (hints) numeric = *hints;
    numeric.ai_flags |= AI_NUMERICHOST;
    if (node && std::strcmp(node, "localhost") == 0) node = "127.0.0.1";
    return real(node, service, &numeric, res);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto c = gatehouse::config::parse_config(text, "fuzz.toml");
        if (c.upstream.nodes.empty()) std::abort();  // an empty node list is an error
        for (const auto& w : gatehouse::config::config_warnings(c)) (void)w.size();
    } catch (const gatehouse::config::config_error& e) {
        if (e.problems().empty()) std::abort();
        for (const auto& p : e.problems()) (void)p.to_string().size();
    }
    return 0;
}
