// [compression]: defaults (on, like NocoBase's Nginx), each key read, and bad values refused with the key named.
#include "config_test_util.hpp"

#include <algorithm>

using namespace gatehouse::config;
using gatehouse::config::test::node;
using gatehouse::config::test::only_problem;

namespace {

bool lists(const std::vector<std::string>& types, const std::string& t) {
    return std::find(types.begin(), types.end(), t) != types.end();
}

}  // namespace

TEST(CompressionKeys, DefaultsCompressTextJsonJavaScriptCssSvgAndWasmAboveOneKib) {
    const auto c = parse_config(node).compression;
    EXPECT_TRUE(c.enabled);
    EXPECT_EQ(c.min_length, 1024u);
    EXPECT_EQ(c.level, 1);
    for (const char* t : {"text/*", "application/json", "application/javascript", "image/svg+xml", "application/wasm"})
        EXPECT_TRUE(lists(c.types, t)) << t;
}

TEST(CompressionKeys, EachKeyIsRead) {
    const auto c = parse_config(std::string(node) + "[compression]\nenabled = false\ntypes = [\"application/json\"]\n"
                                                    "min_length = \"2KiB\"\nlevel = 6\n")
                       .compression;
    EXPECT_FALSE(c.enabled);
    EXPECT_EQ(c.types, std::vector<std::string>{"application/json"});
    EXPECT_EQ(c.min_length, 2048u);
    EXPECT_EQ(c.level, 6);
}

TEST(CompressionKeys, LevelOutsideOneToNineIsRefused) {
    for (const char* level : {"0", "10"}) {
        const auto p = only_problem(std::string(node) + "[compression]\nlevel = " + level + "\n");
        EXPECT_EQ(p.key, "compression.level");
    }
}

TEST(CompressionKeys, MalformedTypeIsRefused) {
    for (const char* type : {"json", "Application/JSON", "text/", "*/*", "text/html; charset=utf-8"}) {
        const auto p = only_problem(std::string(node) + "[compression]\ntypes = [\"" + type + "\"]\n");
        EXPECT_EQ(p.key, "compression.types") << type;
        EXPECT_NE(p.message.find(type), std::string::npos) << p.message;
    }
}

TEST(CompressionKeys, EventStreamIsRefusedAsAType) {
    const auto p = only_problem(std::string(node) + "[compression]\ntypes = [\"text/event-stream\"]\n");
    EXPECT_EQ(p.key, "compression.types");
    EXPECT_NE(p.message.find("never compressed"), std::string::npos) << p.message;
}

TEST(CompressionKeys, UnknownKeyAndWrongTypesAreRefused) {
    EXPECT_EQ(only_problem(std::string(node) + "[compression]\ngzip_vary = true\n").key, "compression.gzip_vary");
    EXPECT_EQ(only_problem(std::string(node) + "[compression]\nenabled = \"yes\"\n").key, "compression.enabled");
    EXPECT_EQ(only_problem(std::string(node) + "[compression]\nmin_length = \"big\"\n").key, "compression.min_length");
    EXPECT_EQ(only_problem(std::string(node) + "[compression]\ntypes = \"text/*\"\n").key, "compression.types");
}
