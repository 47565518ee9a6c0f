// The operator commands send the admin token only to loopback or to an address given with --admin.
#include <gatehouse/admin/admin_target.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using gatehouse::admin::choose_admin_target;
using gatehouse::admin::default_config_path;
using gatehouse::config::socket_address;

namespace {

socket_address listen_at(std::string ip, std::uint16_t port, bool v6 = false) {
    const std::string text = (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
    return socket_address{text, std::move(ip), port, v6};
}

TEST(AdminTarget, LoopbackListenGetsTheToken) {
    auto t = choose_admin_target("", listen_at("127.0.0.1", 9901), true);
    EXPECT_TRUE(t.refusal.empty());
    EXPECT_EQ(t.address, "127.0.0.1:9901");
    EXPECT_TRUE(t.send_token);
    t = choose_admin_target("", listen_at("::1", 9901, true), true);
    EXPECT_EQ(t.address, "[::1]:9901");
    EXPECT_TRUE(t.send_token);
}

// A wildcard listener is reached (and the token sent) through loopback, never through the wildcard itself.
TEST(AdminTarget, WildcardListenIsReachedThroughLoopback) {
    auto t = choose_admin_target("", listen_at("0.0.0.0", 9901), true);
    EXPECT_EQ(t.address, "127.0.0.1:9901");
    EXPECT_TRUE(t.send_token);
    t = choose_admin_target("", listen_at("::", 9901, true), true);
    EXPECT_EQ(t.address, "[::1]:9901");
    EXPECT_TRUE(t.send_token);
}

// A configuration naming another host must not make the CLI hand it the token: refused, with --admin named.
TEST(AdminTarget, NonLoopbackListenFromTheConfigIsRefusedWithAToken) {
    const auto t = choose_admin_target("", listen_at("192.0.2.7", 9901), true);
    EXPECT_FALSE(t.send_token);
    EXPECT_TRUE(t.address.empty());
    EXPECT_NE(t.refusal.find("--admin 192.0.2.7:9901"), std::string::npos) << t.refusal;
}

// Without a token there is nothing to leak: the call goes ahead (the server decides).
TEST(AdminTarget, NonLoopbackListenWithoutATokenIsCalledWithoutOne) {
    const auto t = choose_admin_target("", listen_at("192.0.2.7", 9901), false);
    EXPECT_TRUE(t.refusal.empty());
    EXPECT_EQ(t.address, "192.0.2.7:9901");
    EXPECT_FALSE(t.send_token);
}

// --admin is the operator's own choice: the token goes there, whatever the configuration says.
TEST(AdminTarget, ExplicitAdminAddressGetsTheToken) {
    const auto t = choose_admin_target("192.0.2.7:9901", listen_at("127.0.0.1", 9901), true);
    EXPECT_TRUE(t.refusal.empty());
    EXPECT_EQ(t.address, "192.0.2.7:9901");
    EXPECT_TRUE(t.send_token);
}

// Without -c the commands read the installed configuration when there is one (so they find the running gatehouse's
// admin API and token), else the source tree's conf/gatehouse.toml.
TEST(AdminTarget, DefaultConfigurationIsTheInstalledOneWhenItExists) {
    const auto installed = std::filesystem::temp_directory_path() /
                           ("gatehouse-installed-" + std::to_string(::getpid()) + ".toml");
    std::filesystem::remove(installed);
    EXPECT_EQ(default_config_path(installed.string()), "conf/gatehouse.toml");
    std::ofstream(installed) << "# installed\n";
    EXPECT_EQ(default_config_path(installed.string()), installed.string());
    std::filesystem::remove(installed);
    const bool here = std::filesystem::exists("/etc/gatehouse/gatehouse.toml");
    EXPECT_EQ(default_config_path(), here ? "/etc/gatehouse/gatehouse.toml" : "conf/gatehouse.toml");
}

}  // namespace
