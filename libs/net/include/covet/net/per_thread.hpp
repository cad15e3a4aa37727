#pragma once
// per_thread<T>: one T per runtime worker, so hot paths use their own instance
// without locks (date caches, buffers, connection pools).

#include <covet/net/runtime.hpp>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace covet::net {

template <class T>
class per_thread {
public:
    /// Builds one T per worker with make(worker_index), on the calling thread.
    template <class Factory>
    per_thread(const runtime& rt, Factory make)
    {
        items_.reserve(rt.size());
        for (std::size_t i = 0; i < rt.size(); ++i) {
            items_.push_back(std::make_unique<T>(make(i)));
        }
    }

    /// The calling worker's instance. Precondition: called on a worker of the runtime.
    T& local() noexcept { return *items_[runtime::current_worker()]; }
    T& operator[](std::size_t worker) noexcept { return *items_[worker]; }
    const T& operator[](std::size_t worker) const noexcept { return *items_[worker]; }
    std::size_t size() const noexcept { return items_.size(); }

private:
    // Separate allocations keep instances on separate cache lines in practice.
    std::vector<std::unique_ptr<T>> items_;
};

}  // namespace covet::net
