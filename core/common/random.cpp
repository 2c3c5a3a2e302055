#include "core/common/random.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace tincan {

Random::Random() = default;
Random::Random(uint64_t seed) : prng_(std::mt19937_64(seed)) {}

void Random::fill(std::span<uint8_t> out) {
    if (out.empty()) return;
    if (!prng_) {
        if (RAND_bytes(out.data(), int(out.size())) != 1)
            throw std::runtime_error("OpenSSL RAND_bytes failed");
        return;
    }
    size_t i = 0;
    while (i < out.size()) {
        uint64_t v = (*prng_)();
        for (int k = 0; k < 8 && i < out.size(); ++k, v >>= 8) out[i++] = uint8_t(v);
    }
}

uint64_t Random::next64() {
    if (prng_) return (*prng_)();
    uint64_t v = 0;
    fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof v));
    return v;
}

uint32_t Random::next32() {
    return uint32_t(next64() >> 32);
}

double Random::uniform() {
    return double(next64() >> 11) * 0x1.0p-53;
}

Duration Random::between(Duration lo, Duration hi) {
    if (hi <= lo) return lo;
    auto span = uint64_t((hi - lo).count());
    return lo + Duration(int64_t(next64() % (span + 1)));
}

std::string Random::iceChars(size_t n) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string s(n, 'A');
    for (auto& c : s) c = kAlphabet[next32() & 63];
    return s;
}

}  // namespace tincan
