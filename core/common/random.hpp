// Randomness for transaction ids, ICE credentials, tie-breakers and timer jitter.
// Production code uses the OpenSSL CSPRNG; tests seed a deterministic generator so that
// a simulated run is reproducible.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>

#include "core/common/time.hpp"

namespace tincan {

class Random {
public:
    Random();                        // cryptographically strong
    explicit Random(uint64_t seed);  // deterministic

    void fill(std::span<uint8_t> out);
    uint32_t next32();
    uint64_t next64();
    // Uniform in [0, 1).
    double uniform();
    // Uniform in [lo, hi].
    Duration between(Duration lo, Duration hi);
    // n characters of the ICE "ice-char" set (ALPHA / DIGIT / "+" / "/"), RFC 8839 §5.4.
    std::string iceChars(size_t n);

private:
    std::optional<std::mt19937_64> prng_;
};

}  // namespace tincan
