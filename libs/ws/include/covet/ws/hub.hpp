#pragma once
// ws::hub: topics (rooms) of WebSocket connections across every worker of a
// covet::net runtime, with broadcast and presence counts.
//
// Shared-nothing fan-out: each worker keeps its own subscriber lists, touched
// only on that worker's thread. publish() serializes nothing and takes no
// lock: it posts one task per worker, and each worker queues the one shared
// payload on its own subscribers (connection::post, so a slow subscriber hits
// its own send-queue policy and never blocks the others). Only join/leave
// touch a mutex, for the presence counts.
//
//   auto room = hub->join("lobby", conn);            // on the connection's worker
//   for (;;) {
//       auto msg = co_await conn.read();
//       if (!msg) break;
//       hub->publish("lobby", ws::message_type::text, msg->data);
//   }                                                 // ~membership leaves the room
//
// The hub must outlive its memberships and the tasks publish() posted (keep it
// in a shared_ptr owned by the app); create it before or after the runtime
// starts: it binds to the runtime of the first worker that calls join().

#include <covet/ws/connection.hpp>

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace covet::net {
class runtime;
}

namespace covet::ws {

class hub {
public:
    hub();
    ~hub();
    hub(const hub&) = delete;
    hub& operator=(const hub&) = delete;

    /// Leaves the topic when destroyed (on the worker that joined).
    class [[nodiscard]] membership {
    public:
        membership() noexcept = default;
        membership(membership&& other) noexcept;
        membership& operator=(membership&& other) noexcept;
        membership(const membership&) = delete;
        membership& operator=(const membership&) = delete;
        ~membership() { leave(); }
        void leave() noexcept;
        const std::string& topic() const noexcept { return topic_; }

    private:
        friend class hub;
        membership(hub* h, std::size_t worker, std::string topic, connection conn) noexcept
            : hub_(h), worker_(worker), topic_(std::move(topic)), conn_(std::move(conn))
        {
        }
        hub* hub_ = nullptr;
        std::size_t worker_ = 0;
        std::string topic_;
        connection conn_;
    };

    /// Adds `conn` to `topic`. Call it on a runtime worker: the connection's own.
    membership join(std::string_view topic, connection conn);

    /// Sends `payload` to every connection of `topic` on every worker. Callable
    /// from any thread. Returns the number of workers it was posted to.
    std::size_t publish(std::string_view topic, message_type type, std::string payload);
    std::size_t publish(std::string_view topic, message_type type,
                        std::shared_ptr<const std::string> payload);

    /// Connections in `topic` over all workers.
    std::size_t presence(std::string_view topic) const;
    /// Topics with at least one connection.
    std::vector<std::string> topics() const;
    /// Messages queued by fan-out so far, and those a full queue dropped.
    std::uint64_t delivered() const noexcept { return delivered_.load(std::memory_order_relaxed); }
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    struct local;
    void leave(std::size_t worker, const std::string& topic, const connection& conn) noexcept;
    local& local_for_current_worker();
    void fan_out_here(std::size_t worker, const std::string& topic, message_type type,
                      const std::shared_ptr<const std::string>& payload);

    std::once_flag bind_once_;
    std::atomic<net::runtime*> runtime_{nullptr};
    std::vector<std::unique_ptr<local>> locals_;
    mutable std::mutex presence_mutex_;
    std::map<std::string, std::size_t, std::less<>> presence_;
    std::atomic<std::uint64_t> delivered_{0};
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace covet::ws
