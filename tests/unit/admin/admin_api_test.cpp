// Admin API routing without sockets: the controller on a private io_context, requests handed in directly.
#include <gatehouse/admin/admin_api.hpp>
#include <gatehouse/config/load.hpp>

#include <boost/asio/co_spawn.hpp>
#include <gtest/gtest.h>

using namespace gatehouse;

namespace {

class AdminRoutes : public ::testing::Test {
protected:
    /// No token: `allow_no_token` as given (the loopback rule the tests below rely on needs it).
    explicit AdminRoutes(std::string token = "", bool allow_no_token = true) {
        auto cfg = config::parse_config("[health_check]\nenabled = false\n[admin]\ntoken_env = \"\"\n"
                                        "[[upstream.node]]\nname = \"node1\"\naddress = \"127.0.0.1:13001\"\n");
        cfg.admin.token = token;
        cfg.admin.allow_no_token = allow_no_token;
        controller_ = std::make_unique<control::controller>(context_, std::move(cfg), control::controller::options{});
    }

    admin::admin_response call(http::verb method, std::string target, std::string body = "", bool loopback = true,
                               std::string authorization = "", std::string host = "127.0.0.1:9901",
                               std::string origin = "") {
        admin::admin_request r;
        r.method = method;
        r.target = std::move(target);
        r.body = std::move(body);
        r.peer = loopback ? "127.0.0.1" : "192.0.2.10";
        r.peer_is_loopback = loopback;
        r.authorization = std::move(authorization);
        r.host = std::move(host);
        r.origin = std::move(origin);
        admin::admin_response out;
        net::co_spawn(context_, admin::handle_admin_request(*controller_, r),
                      [&](std::exception_ptr e, admin::admin_response a) {
                          if (e) std::rethrow_exception(e);
                          out = std::move(a);
                      });
        context_.restart();
        context_.run_for(std::chrono::seconds(5));
        return out;
    }

    net::io_context context_{1};
    std::unique_ptr<control::controller> controller_;
};

// With no token configured, a client that is not on loopback is refused (403) on every endpoint but /healthz.
TEST_F(AdminRoutes, WithoutTokenOnlyLoopbackClients) {
    EXPECT_EQ(call(http::verb::get, "/api/status", "", false).status, 403u);
    EXPECT_EQ(call(http::verb::put, "/api/maintenance", "{}", false).status, 403u);
    EXPECT_EQ(call(http::verb::get, "/healthz", "", false).status, 200u);
    EXPECT_EQ(call(http::verb::get, "/api/status", "", true).status, 200u);
}

// Without a token, a browser on this machine visiting another site must not be able to drive the API: requests from
// another Origin, or naming a Host that is not a loopback name (DNS rebinding), are refused.
TEST_F(AdminRoutes, WithoutTokenCrossSiteAndRebindingRequestsAreRefused) {
    EXPECT_EQ(call(http::verb::post, "/api/nodes/node1/drain", "", true, "", "127.0.0.1:9901", "http://evil.example")
                  .status,
              403u);
    EXPECT_EQ(call(http::verb::get, "/api/status", "", true, "", "evil.example:9901").status, 403u);
    EXPECT_EQ(call(http::verb::get, "/api/status", "", true, "", "localhost:9901", "http://localhost:9901").status,
              200u);
    EXPECT_EQ(call(http::verb::get, "/api/status", "", true, "", "[::1]:9901").status, 200u);
    EXPECT_EQ(call(http::verb::post, "/api/nodes/node1/drain", "", true, "", "127.0.0.1:9901", "http://127.0.0.1:9901")
                  .status,
              200u);
    EXPECT_EQ(controller_->state().admin_of("node1"), control::node_admin::draining);
}

class AdminRoutesWithToken : public AdminRoutes {
protected:
    AdminRoutesWithToken() : AdminRoutes("s3cret") {}
};

class AdminRoutesNoTokenNoOptOut : public AdminRoutes {
protected:
    AdminRoutesNoTokenNoOptOut() : AdminRoutes("", false) {}
};

// Without a token and without admin.allow_no_token (which serve, check and reload refuse), nobody is let in, not
// even loopback with a loopback Host; /healthz still answers.
TEST_F(AdminRoutesNoTokenNoOptOut, NobodyIsServed) {
    const auto r = call(http::verb::get, "/api/status", "", true, "", "127.0.0.1:9901");
    EXPECT_EQ(r.status, 401u) << r.body;
    EXPECT_EQ(call(http::verb::put, "/api/maintenance", "{}", true).status, 401u);
    EXPECT_EQ(call(http::verb::get, "/healthz", "", true).status, 200u);
    EXPECT_FALSE(controller_->snapshot()->maintenance.enabled);
}

// With a token, loopback is no excuse: the token is required; the scheme name is case-insensitive.
TEST_F(AdminRoutesWithToken, TokenRequiredEvenFromLoopback) {
    EXPECT_EQ(call(http::verb::get, "/api/status", "", true).status, 401u);
    EXPECT_EQ(call(http::verb::get, "/api/status", "", true, "Basic s3cret").status, 401u);
    EXPECT_EQ(call(http::verb::get, "/api/status", "", true, "Bearer s3cre").status, 401u);
    EXPECT_EQ(call(http::verb::get, "/api/status", "", false, "Bearer s3cret").status, 200u);
    EXPECT_EQ(call(http::verb::get, "/api/status", "", false, "bearer s3cret").status, 200u);
}

// Maintenance on and off through the routes changes the controller's state and its snapshot.
TEST_F(AdminRoutes, MaintenanceRoutesChangeTheSnapshot) {
    auto r = call(http::verb::put, "/api/maintenance?pretty", R"({"reason": "upgrade"})");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_TRUE(controller_->snapshot()->maintenance.enabled);
    EXPECT_EQ(controller_->snapshot()->maintenance.message, "upgrade");
    r = call(http::verb::put, "/api/maintenance", R"({"enabled": false, "reason": "x"})");
    EXPECT_EQ(r.status, 400u) << r.body;
    r = call(http::verb::delete_, "/api/maintenance");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_FALSE(controller_->snapshot()->maintenance.enabled);
}

}  // namespace
