#include <covet/ws/hub.hpp>

#include <covet/net/runtime.hpp>

#include <asio/post.hpp>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace covet::ws {

// One worker's subscribers; only that worker's thread touches it.
struct hub::local {
    std::unordered_map<std::string, std::vector<connection>> topics;
};

hub::hub() = default;
hub::~hub() = default;

hub::membership::membership(membership&& other) noexcept
    : hub_(std::exchange(other.hub_, nullptr)),
      worker_(other.worker_),
      topic_(std::move(other.topic_)),
      conn_(std::move(other.conn_))
{
}

hub::membership& hub::membership::operator=(membership&& other) noexcept
{
    if (this != &other) {
        leave();
        hub_ = std::exchange(other.hub_, nullptr);
        worker_ = other.worker_;
        topic_ = std::move(other.topic_);
        conn_ = std::move(other.conn_);
    }
    return *this;
}

void hub::membership::leave() noexcept
{
    if (hub_ != nullptr) {
        hub_->leave(worker_, topic_, conn_);
        hub_ = nullptr;
    }
}

hub::local& hub::local_for_current_worker()
{
    net::runtime* rt = net::runtime::current();
    if (rt == nullptr) {
        throw std::logic_error("ws::hub::join must run on a covet::net runtime worker");
    }
    std::call_once(bind_once_, [&] {
        locals_.reserve(rt->size());
        for (std::size_t i = 0; i < rt->size(); ++i) {
            locals_.push_back(std::make_unique<local>());
        }
        runtime_.store(rt, std::memory_order_release);
    });
    if (rt != runtime_.load(std::memory_order_acquire)) {
        throw std::logic_error("ws::hub is bound to another runtime");
    }
    return *locals_[net::runtime::current_worker()];
}

hub::membership hub::join(std::string_view topic, connection conn)
{
    local& here = local_for_current_worker();
    std::string name(topic);
    here.topics[name].push_back(conn);
    {
        std::lock_guard lock(presence_mutex_);
        ++presence_[name];
    }
    return membership(this, net::runtime::current_worker(), std::move(name), std::move(conn));
}

void hub::leave(std::size_t worker, const std::string& topic, const connection& conn) noexcept
{
    net::runtime* rt = runtime_.load(std::memory_order_acquire);
    if (net::runtime::current() == rt && net::runtime::current_worker() != worker) {
        // Left on another worker: the list belongs to the joining one.
        asio::post(rt->executor(worker), [this, worker, topic, conn] { leave(worker, topic, conn); });
        return;
    }
    // Off the runtime (its workers have stopped, e.g. frames destroyed with it): no other thread touches the
    // list.
    local& here = *locals_[worker];
    auto found = here.topics.find(topic);
    if (found == here.topics.end()) {
        return;
    }
    auto& members = found->second;
    auto at = std::find(members.begin(), members.end(), conn);
    if (at == members.end()) {
        return;
    }
    // Order does not matter: swap with the last.
    *at = std::move(members.back());
    members.pop_back();
    if (members.empty()) {
        here.topics.erase(found);
    }
    std::lock_guard lock(presence_mutex_);
    auto count = presence_.find(topic);
    if (count != presence_.end() && --count->second == 0) {
        presence_.erase(count);
    }
}

std::size_t hub::publish(std::string_view topic, message_type type, std::string payload)
{
    return publish(topic, type, std::make_shared<const std::string>(std::move(payload)));
}

std::size_t hub::publish(std::string_view topic, message_type type,
                         std::shared_ptr<const std::string> payload)
{
    net::runtime* rt = runtime_.load(std::memory_order_acquire);
    if (rt == nullptr) {
        return 0;  // nobody ever joined
    }
    auto name = std::make_shared<const std::string>(topic);
    for (std::size_t worker = 0; worker < rt->size(); ++worker) {
        asio::post(rt->executor(worker),
                   [this, worker, name, type, payload] { fan_out_here(worker, *name, type, payload); });
    }
    return rt->size();
}

void hub::fan_out_here(std::size_t worker, const std::string& topic, message_type type,
                       const std::shared_ptr<const std::string>& payload)
{
    local& here = *locals_[worker];
    auto found = here.topics.find(topic);
    if (found == here.topics.end()) {
        return;
    }
    std::uint64_t sent = 0;
    std::uint64_t lost = 0;
    for (auto& conn : found->second) {
        if (conn.post(type, payload)) {
            ++sent;
        } else {
            ++lost;
        }
    }
    delivered_.fetch_add(sent, std::memory_order_relaxed);
    dropped_.fetch_add(lost, std::memory_order_relaxed);
}

std::size_t hub::presence(std::string_view topic) const
{
    std::lock_guard lock(presence_mutex_);
    auto found = presence_.find(topic);
    return found == presence_.end() ? 0 : found->second;
}

std::vector<std::string> hub::topics() const
{
    std::lock_guard lock(presence_mutex_);
    std::vector<std::string> out;
    out.reserve(presence_.size());
    for (const auto& [name, count] : presence_) {
        out.push_back(name);
    }
    return out;
}

}  // namespace covet::ws
