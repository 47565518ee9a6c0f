// The Redis thread: connect, subscribe, read the key, store writes, wait for messages; reconnect with backoff.
#include <gatehouse/cluster/redis_link.hpp>

#include <boost/asio/post.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <vector>

namespace gatehouse::cluster {

namespace {

struct context_free {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_free>;

struct reply_free {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_free>;

timeval to_timeval(std::chrono::milliseconds d) {
    return timeval{static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

/// One command; nullptr with `error` set when the connection failed or Redis answered an error.
reply_ptr command(redisContext* c, std::vector<std::string> args, std::string& error) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    reply_ptr r(static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!r) {
        error = c->errstr[0] ? c->errstr : "connection lost";
        return nullptr;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        error = args.front() + ": " + std::string(r->str, r->len);
        return nullptr;
    }
    return r;
}

/// Connects, authenticates and selects the database; nullptr with `error` set on failure.
context_ptr connect(const redis_settings& s, std::string& error) {
    context_ptr c(redisConnectWithTimeout(s.host.c_str(), s.port, to_timeval(s.timeout)));
    if (!c || c->err) {
        error = c ? c->errstr : "out of memory";
        return nullptr;
    }
    redisSetTimeout(c.get(), to_timeval(s.timeout));
    if (!s.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!s.user.empty()) auth.push_back(s.user);
        auth.push_back(s.password);
        if (!command(c.get(), std::move(auth), error)) return nullptr;
    }
    if (s.db != 0 && !command(c.get(), {"SELECT", std::to_string(s.db)}, error)) return nullptr;
    return c;
}

/// The payload of a pub/sub "message" reply, nullopt for anything else (subscribe confirmations).
std::optional<std::string> message_payload(const redisReply& r) {
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 3) return std::nullopt;
    const auto* kind = r.element[0];
    const auto* payload = r.element[2];
    if (kind->type != REDIS_REPLY_STRING || std::string_view(kind->str, kind->len) != "message") return std::nullopt;
    if (payload->type != REDIS_REPLY_STRING) return std::nullopt;
    return std::string(payload->str, payload->len);
}

}  // namespace

struct redis_link::contexts {
    context_ptr commands, subscription;
};

redis_link::redis_link(net::io_context& control, redis_settings settings, redis_events events)
    : control_(control), settings_(std::move(settings)), events_(std::move(events)) {
    if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    thread_ = std::thread([this] { run(); });
}

redis_link::~redis_link() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
    thread_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
}

void redis_link::write(std::string value) {
    {
        std::lock_guard lock(mutex_);
        pending_ = std::move(value);
    }
    [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
}

void redis_link::post(std::function<void()> f) {
    net::post(control_, [alive = std::weak_ptr<int>(alive_), f = std::move(f)] {
        if (!alive.expired()) f();
    });
}

std::optional<std::string> redis_link::take_pending() {
    std::lock_guard lock(mutex_);
    auto out = std::move(pending_);
    pending_.reset();
    return out;
}

void redis_link::drain_wake() const {
    char buffer[64];
    while (::read(wake_[0], buffer, sizeof buffer) > 0) {
    }
}

void redis_link::wait_wake(std::chrono::milliseconds timeout) {
    pollfd p{wake_[0], POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(timeout.count()));
    drain_wake();
}

void redis_link::run() {
    auto retry = settings_.retry_min;
    for (;;) {
        bool reached = false;
        auto error = session(reached);
        {
            std::lock_guard lock(mutex_);
            if (stop_) return;
        }
        if (reached) retry = settings_.retry_min;
        post([this, error, retry] { events_.down(error, retry); });
        wait_wake(retry);
        {
            std::lock_guard lock(mutex_);
            if (stop_) return;
        }
        retry = std::min(retry * 2, settings_.retry_max);
    }
}

std::string redis_link::session(bool& reached) {
    std::string error;
    contexts c;
    c.commands = connect(settings_, error);
    if (c.commands) c.subscription = connect(settings_, error);
    if (!c.subscription) return error;
    if (!command(c.subscription.get(), {"SUBSCRIBE", settings_.channel}, error)) return error;
    take_pending();  // the owner compares with the key's value below and writes again if it must
    auto value = command(c.commands.get(), {"GET", settings_.key}, error);
    if (!value) return error;
    std::optional<std::string> current;
    if (value->type == REDIS_REPLY_STRING) current = std::string(value->str, value->len);
    reached = true;
    post([this, current = std::move(current)] { events_.connected(current); });
    return serve(c);
}

std::string redis_link::serve(contexts& c) {
    std::string error;
    redisContext* sub = c.subscription.get();
    for (;;) {
        if (auto write = take_pending()) {
            auto winner = command(c.commands.get(), {"EVAL", settings_.store_script, "2", settings_.key,
                                                     settings_.channel, std::move(*write)}, error);
            if (!winner) return error;
            if (winner->type == REDIS_REPLY_STRING)
                post([this, v = std::string(winner->str, winner->len)] { events_.value(v); });
        }
        for (;;) {  // replies hiredis has read already, then the socket
            void* raw = nullptr;
            if (redisGetReplyFromReader(sub, &raw) != REDIS_OK) return sub->errstr;
            if (!raw) break;
            reply_ptr r(static_cast<redisReply*>(raw));
            if (auto payload = message_payload(*r)) post([this, v = std::move(*payload)] { events_.value(v); });
        }
        pollfd p[2] = {{sub->fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        const int ready = ::poll(p, 2, 1000);
        {
            std::lock_guard lock(mutex_);
            if (stop_) return "stopping";
        }
        if (ready == 0) {
            // Quiet for a second: a PING finds a server that went away without closing the connection.
            if (!command(c.commands.get(), {"PING"}, error)) return error;
            continue;
        }
        if (p[1].revents != 0) drain_wake();
        if (p[0].revents != 0 && redisBufferRead(sub) != REDIS_OK) return sub->errstr[0] ? sub->errstr : "connection lost";
    }
}

}  // namespace gatehouse::cluster
