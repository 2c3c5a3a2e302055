// The one way Tincan says "a value, or an error with a reason" (public API and core alike).
//
//   Result<int> r = parsePort(text);
//   if (!r) return r.error();          // an Error converts into any Result<U>
//   use(*r);
//
// Result<void> carries no value: `return {};` is success, `return Error{"why"}` a failure.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tincan {

struct Error {
    std::string message;  // one line, plain words: what failed and why
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value)
        : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Error error)
        : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(v_); }
    // The error's message, or "" on success.
    const std::string& message() const {
        static const std::string empty;
        return ok() ? empty : error().message;
    }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error)
        : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const {
        assert(!ok_);
        return error_;
    }
    const std::string& message() const { return error_.message; }

private:
    Error error_;
    bool ok_ = true;
};

}  // namespace tincan
