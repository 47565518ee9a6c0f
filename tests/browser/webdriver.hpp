// A minimal W3C WebDriver client for browser tests: starts Debian's chromedriver on a 127.0.0.1 ephemeral port and
// drives headless Chromium through its HTTP protocol (JSON over HTTP/1.1, one connection per command). Every call
// is bounded in time; errors throw std::runtime_error with WebDriver's error and message.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <sys/types.h>

namespace gatehouse::test {

/// Where the browser and its driver are: $GATEHOUSE_CHROMIUM / $GATEHOUSE_CHROMEDRIVER, else Debian's paths.
std::string chromium_path();
std::string chromedriver_path();

/// chromedriver in its own process group; the destructor ends that group (chromedriver and any browser it
/// left behind) and reaps chromedriver.
class chromedriver_process {
public:
    /// Starts `binary` on a free port; throws (with its log) unless it answers /status ready within `timeout`.
    chromedriver_process(const std::string& binary, const std::string& log_path,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));
    ~chromedriver_process();
    chromedriver_process(const chromedriver_process&) = delete;
    chromedriver_process& operator=(const chromedriver_process&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return pid_; }

private:
    void stop() noexcept;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    std::string log_path_;
};

/// One browser session. The destructor closes it (DELETE /session/{id}), which quits the browser.
class webdriver_session {
public:
    /// POST /session with these W3C capabilities ({"alwaysMatch": ...} is built here).
    webdriver_session(std::uint16_t driver_port, boost::json::object always_match,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
    ~webdriver_session();
    webdriver_session(const webdriver_session&) = delete;
    webdriver_session& operator=(const webdriver_session&) = delete;

    /// Sends one command ("GET"/"POST"/"DELETE", path under /session/{id}, e.g. "/url") and returns its "value".
    boost::json::value command(std::string_view method, std::string_view path, const boost::json::value& body = {});

    void navigate(const std::string& url);
    /// The element matching a CSS selector; throws "no such element" when there is none.
    std::string find(const std::string& css);
    void click(const std::string& element);
    void clear(const std::string& element);
    void send_keys(const std::string& element, const std::string& text);
    /// The element's rendered text (what a user sees; "" when hidden).
    std::string text(const std::string& element);
    bool displayed(const std::string& element);
    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its result.
    boost::json::value execute(const std::string& script, boost::json::array args = {});
    /// The text of the open alert/confirm dialog, or nullopt-like "" with `open` = false when there is none.
    bool alert_open(std::string& text);
    void accept_alert();
    void dismiss_alert();
    /// The viewport as PNG bytes.
    std::string screenshot_png();

    const std::string& id() const noexcept { return id_; }

private:
    std::uint16_t port_;
    std::string id_;
    std::chrono::milliseconds timeout_;
};

/// Decodes standard base64 (as WebDriver's screenshot answer); throws on invalid input.
std::string base64_decode(std::string_view in);

}  // namespace gatehouse::test
