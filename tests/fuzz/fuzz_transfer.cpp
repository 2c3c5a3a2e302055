// libFuzzer target for the file-transfer messages (transfer/messages.cpp, FILE_TRANSFER.md):
// the JSON text messages exactly as the sender and receiver parse them, and the receiver's
// file-name policy.
//
// Any input: parseMessage returns a message or an error with a reason, never throws or crashes.
// A message serialized and parsed again gives the same message. sanitizeName gives a name that
// is valid UTF-8, 1–200 bytes, with no separator, control or bidi character and no leading dot,
// and sanitizing it again changes nothing. A broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transfer/messages.hpp"

using namespace tincan::transfer;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

bool same(const Message& a, const Message& b) {
    if (a.index() != b.index()) return false;
    if (auto* x = std::get_if<FileHeader>(&a)) {
        auto& y = std::get<FileHeader>(b);
        // An absent mime is written as application/octet-stream.
        return x->name == y.name && x->size == y.size &&
               (x->mime == y.mime || (x->mime.empty() && y.mime == "application/octet-stream"));
    }
    if (auto* x = std::get_if<AcceptMessage>(&a))
        return x->offset == std::get<AcceptMessage>(b).offset;
    if (auto* x = std::get_if<RejectMessage>(&a))
        return x->reason == std::get<RejectMessage>(b).reason;
    if (auto* x = std::get_if<EofMessage>(&a)) return x->sha256 == std::get<EofMessage>(b).sha256;
    auto& x = std::get<AckMessage>(a);
    auto& y = std::get<AckMessage>(b);
    return x.ok == y.ok && x.sha256 == y.sha256;
}

void checkName(std::string_view input) {
    std::string name = sanitizeName(input);
    check(!name.empty() && name.size() <= kMaxNameBytes);
    check(isValidUtf8(name));
    check(name.front() != '.' && name.front() != ' ' && name.back() != ' ');
    for (unsigned char c : name) check(c >= 0x20 && c != 0x7F && c != '/' && c != '\\');
    check(name.find("\xc2\x9b") == std::string::npos &&
          name.find("\xe2\x80\xae") == std::string::npos);
    check(sanitizeName(name) == name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto message = parseMessage(text);
    if (message) {
        std::string wire = serialize(*message);
        check(isValidUtf8(wire));
        auto again = parseMessage(wire);
        check(again.ok() && same(*message, *again));
        if (auto* h = std::get_if<FileHeader>(&*message)) checkName(h->name);
    } else {
        check(!message.message().empty());
    }
    checkName(text);
    std::string repaired = toValidUtf8(text);
    check(isValidUtf8(repaired));
    if (isValidUtf8(text)) check(repaired == text);
    return 0;
}
