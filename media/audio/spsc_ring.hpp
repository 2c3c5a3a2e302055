// A lock-free single-producer single-consumer ring of samples: the hand-off between PortAudio's
// callback thread and the codec side. Neither side blocks or allocates; a full ring drops what
// does not fit, an empty one hands out what it has, and the caller counts both.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>

namespace tincan::media {

template <typename T>
class SpscRing {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    // Capacity is rounded up to a power of two.
    explicit SpscRing(size_t capacity) {
        size_t c = 1;
        while (c < capacity) c <<= 1;
        capacity_ = c;
        data_ = std::make_unique<T[]>(c);
    }

    size_t capacity() const { return capacity_; }
    size_t available() const {
        return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
    }

    // Producer side: writes up to n items, returns how many fit.
    size_t write(const T* src, size_t n) {
        const size_t head = head_.load(std::memory_order_relaxed);
        const size_t tail = tail_.load(std::memory_order_acquire);
        n = std::min(n, capacity_ - (head - tail));
        copyIn(head, src, n);
        head_.store(head + n, std::memory_order_release);
        return n;
    }

    // Consumer side: reads up to n items, returns how many there were.
    size_t read(T* dst, size_t n) {
        const size_t tail = tail_.load(std::memory_order_relaxed);
        const size_t head = head_.load(std::memory_order_acquire);
        n = std::min(n, head - tail);
        copyOut(tail, dst, n);
        tail_.store(tail + n, std::memory_order_release);
        return n;
    }

private:
    void copyIn(size_t at, const T* src, size_t n) {
        const size_t i = at & (capacity_ - 1), first = std::min(n, capacity_ - i);
        std::memcpy(data_.get() + i, src, first * sizeof(T));
        std::memcpy(data_.get(), src + first, (n - first) * sizeof(T));
    }
    void copyOut(size_t at, T* dst, size_t n) const {
        const size_t i = at & (capacity_ - 1), first = std::min(n, capacity_ - i);
        std::memcpy(dst, data_.get() + i, first * sizeof(T));
        std::memcpy(dst + first, data_.get(), (n - first) * sizeof(T));
    }

    size_t capacity_ = 0;
    std::unique_ptr<T[]> data_;
    alignas(64) std::atomic<size_t> head_{0};  // written by the producer
    alignas(64) std::atomic<size_t> tail_{0};  // written by the consumer
};

}  // namespace tincan::media
