// The failure read_drain must never cause: a lost wakeup that leaves a read waiting for bytes or a close that
// already came. Many short exchanges on real loopback sockets, bytes and the peer's close arriving in every order
// around the reads and their marks; each must end within a second.
#include <gatehouse/proxy/eager_io.hpp>
#include <gatehouse/proxy/read_drain.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <poll.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

constexpr auto exchange_limit = std::chrono::seconds(1);

/// What the peer does, step by step: "s:TEXT" sends, "k" waits until the kernel holds what was sent (without
/// running the event loop, so the loop finds it all at once), "p" lets the loop take its pending events, "w:N" lets
/// the loop run until the reader has N bytes (the reader is then waiting, its socket marked), "f" sends FIN, "r"
/// resets.
using script = std::vector<std::string>;

/// One exchange on a fresh connected pair of `io`: the reader reads with read_some_unless_drained into a buffer
/// of `buffer_size` bytes until an error; the peer plays `steps`.
class exchange {
public:
    exchange(net::io_context& io, script steps, std::size_t buffer_size)
        : io_(io), peer_(io), socket_(io), steps_(std::move(steps)), buffer_(buffer_size) {
        tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        peer_.connect(acceptor.local_endpoint());
        acceptor.accept(socket_);
        socket_.set_option(tcp::no_delay(true));
        socket_.non_blocking(true);
        error_code ec;
        watch_peer_close(socket_, ec);
        EXPECT_FALSE(ec) << ec.message();
    }

    /// Runs both sides; false when the reader did not end within exchange_limit.
    bool run() {
        net::co_spawn(io_, read_all(), net::detached);
        net::co_spawn(io_, play(), net::detached);
        io_.run_for(exchange_limit);
        io_.restart();
        return reader_done_;
    }

    std::string received_, sent_;
    error_code end_;
    bool reset_ = false;

private:
    net::awaitable<void> read_all() {
        for (;;) {
            auto [ec, n] = co_await read_some_unless_drained(socket_, net::buffer(buffer_));
            received_.append(buffer_.data(), n);
            if (ec) {
                end_ = ec;
                break;
            }
        }
        reader_done_ = true;
    }

    net::awaitable<void> pass() {
        net::steady_timer now(io_);
        now.expires_after(std::chrono::seconds(0));
        co_await now.async_wait(use_tuple);
    }

    /// Until the reader's kernel has every byte sent (the peer's send queue holds no unacknowledged byte; bytes a
    /// completed read took but the reader has not seen yet count too) and the FIN, once sent; bounded.
    void settle() {
        if (reset_) return;  // the kernel may drop what was queued
        const auto deadline = std::chrono::steady_clock::now() + exchange_limit;
        while (std::chrono::steady_clock::now() < deadline) {
            int unacknowledged = 0;
            ::ioctl(peer_.native_handle(), SIOCOUTQ, &unacknowledged);
            pollfd fd{socket_.native_handle(), POLLRDHUP, 0};
            const bool fin_there = !fin_sent_ || (::poll(&fd, 1, 0) == 1 && (fd.revents & (POLLRDHUP | POLLHUP)));
            if (unacknowledged == 0 && fin_there) return;
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }

    net::awaitable<void> play() {
        for (const auto& step : steps_) {
            if (step.rfind("s:", 0) == 0) {
                sent_ += step.substr(2);
                net::write(peer_, net::buffer(step.substr(2)));
            } else if (step == "k") {
                settle();
            } else if (step == "p") {
                co_await pass();
            } else if (step.rfind("w:", 0) == 0) {
                const auto want = std::stoul(step.substr(2));
                for (int i = 0; i < 10000 && received_.size() < want && !reader_done_; ++i) co_await pass();
            } else if (step == "f") {
                fin_sent_ = true;
                peer_.shutdown(tcp::socket::shutdown_send);
            } else if (step == "r") {
                reset_ = true;
                peer_.set_option(net::socket_base::linger(true, 0));
                peer_.close();
            }
        }
    }

    net::io_context& io_;
    tcp::socket peer_, socket_;
    script steps_;
    std::vector<char> buffer_;
    bool reader_done_ = false, fin_sent_ = false;
};

std::string show(const script& s) {
    std::ostringstream out;
    for (const auto& step : s) out << step << ' ';
    return out.str();
}

/// Runs `steps` with every buffer size, `rounds` times each, on one io_context (so new sockets reuse the reactor
/// states of closed ones, close events and all). Fails the test for each exchange that stalls or loses data.
void expect_every_exchange_ends(const script& steps, int rounds = 5) {
    net::io_context io(1);
    for (const std::size_t buffer_size : {4, 16, 4096}) {
        for (int round = 0; round < rounds; ++round) {
            exchange x(io, steps, buffer_size);
            const auto started = std::chrono::steady_clock::now();
            ASSERT_TRUE(x.run()) << "stalled: " << show(steps) << "(buffer " << buffer_size << ", round " << round
                                 << ", got '" << x.received_ << "')";
            EXPECT_LT(std::chrono::steady_clock::now() - started, exchange_limit);
            if (x.reset_) {
                EXPECT_TRUE(x.end_) << show(steps);
                EXPECT_EQ(x.sent_.substr(0, x.received_.size()), x.received_) << show(steps);
            } else {
                EXPECT_EQ(x.end_, net::error::eof) << show(steps) << x.end_.message();
                EXPECT_EQ(x.received_, x.sent_) << show(steps) << "(buffer " << buffer_size << ")";
            }
        }
    }
}

}  // namespace

TEST(ReadDrainStall, BytesThenClose) {
    expect_every_exchange_ends({"s:hello", "p", "f"});
    expect_every_exchange_ends({"s:hello", "k", "p", "f", "k"});
}

TEST(ReadDrainStall, CloseAlone) {
    expect_every_exchange_ends({"f"});
    expect_every_exchange_ends({"f", "k"});
    expect_every_exchange_ends({"p", "f"});
}

TEST(ReadDrainStall, BytesAndCloseTogether) {
    expect_every_exchange_ends({"s:hello", "f"});
    expect_every_exchange_ends({"s:hello", "f", "k"});
    expect_every_exchange_ends({"s:ping", "w:4", "s:pong", "f", "k"});
    expect_every_exchange_ends({"s:ping", "w:4", "s:pong", "f"});
}

TEST(ReadDrainStall, BytesSplitInTwoWrites) {
    expect_every_exchange_ends({"s:he", "s:llo", "f"});
    expect_every_exchange_ends({"s:he", "k", "s:llo", "k", "f"});
    expect_every_exchange_ends({"s:he", "p", "s:llo", "p", "f"});
    expect_every_exchange_ends({"s:he", "k", "p", "s:llo", "k", "p", "f", "k"});
    expect_every_exchange_ends({"s:0123456789abcdefghij", "k", "s:klmnopqrstuvwxyz", "f", "k"});
}

// The keep-alive pattern: the reader emptied the socket and marked it, and waits; then bytes or the close come.
TEST(ReadDrainStall, WriteAfterTheMark) {
    expect_every_exchange_ends({"s:ping", "w:4", "s:pong", "w:8", "f"});
    expect_every_exchange_ends({"s:ping", "w:4", "s:pong", "k", "w:8", "s:x", "k", "f", "k"});
    expect_every_exchange_ends({"s:ping", "w:4", "f"});
    expect_every_exchange_ends({"s:ping", "w:4", "f", "k"});
    expect_every_exchange_ends({"s:ping", "w:4", "p", "p", "s:pong", "p", "f"});
}

TEST(ReadDrainStall, Reset) {
    expect_every_exchange_ends({"s:ping", "w:4", "r"});
    expect_every_exchange_ends({"s:ping", "k", "r"});
    expect_every_exchange_ends({"r"});
}

// Random orders of the same steps (seeded: a failure names its script and can be replayed).
TEST(ReadDrainStall, RandomOrders) {
    std::mt19937 random(12);
    for (int n = 0; n < 60; ++n) {
        script steps;
        std::size_t sent = 0;
        const int length = 1 + static_cast<int>(random() % 6);
        for (int i = 0; i < length; ++i) {
            switch (random() % 4) {
            case 0:
            case 1: {
                const std::size_t size = 1 + random() % 12;
                steps.push_back("s:" + std::string(size, static_cast<char>('a' + random() % 26)));
                sent += size;
                if (random() % 2) steps.push_back("k");
                break;
            }
            case 2: steps.push_back("p"); break;
            case 3: steps.push_back("w:" + std::to_string(sent)); break;
            }
        }
        steps.push_back(random() % 8 == 0 ? "r" : "f");
        if (random() % 2) steps.push_back("k");
        expect_every_exchange_ends(steps, 2);
        if (HasFatalFailure()) return;
    }
}
