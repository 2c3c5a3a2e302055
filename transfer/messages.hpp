// The text messages of ../shared/FILE_TRANSFER.md v1 as values: parsed and written by pure
// functions (no I/O, no state), so that both ends and the fuzzer (tests/fuzz/fuzz_transfer.cpp)
// share one reading of the wire. Also the receiver's file-name policy ("What a receiver must
// refuse"), as a pure function of the suggested name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "tincan/result.hpp"

namespace tincan::transfer {

// Step 1, sender → receiver.
struct FileHeader {
    std::string name;  // the sender's suggestion, valid UTF-8 (invalid sequences replaced)
    uint64_t size = 0;
    std::string mime;  // "" when absent
};
// Step 2, receiver → sender.
struct AcceptMessage {
    uint64_t offset = 0;
};
struct RejectMessage {
    std::string reason;  // cleaned for display: valid UTF-8, no control characters, ≤ 200 bytes
};
// Step 4, sender → receiver.
struct EofMessage {
    std::string sha256;  // 64 lowercase hex digits
};
// Step 5, receiver → sender.
struct AckMessage {
    bool ok = false;
    std::string sha256;  // lowercase; "" when absent or not 64 hex digits
};

using Message = std::variant<FileHeader, AcceptMessage, RejectMessage, EofMessage, AckMessage>;

// One text message. An error (not JSON, not an object, unknown type, a field of the wrong
// type) says what is wrong in one line; the caller ends the transfer (FILE_TRANSFER.md).
Result<Message> parseMessage(std::string_view text);
// The JSON text of a message (never throws: strings are valid UTF-8 by construction, and
// anything else is replaced).
std::string serialize(const Message& message);

// The name a receiver keeps for a suggested one: the base name only (no '/' or '\\'), no
// leading dots or spaces, no C0/C1 control characters, DEL, bidirectional overrides, isolates
// or marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) or line separators; invalid
// UTF-8 replaced by U+FFFD; at most kMaxNameBytes bytes, cut on a character boundary and
// keeping a short extension; "file" when nothing is left.
constexpr size_t kMaxNameBytes = 200;
std::string sanitizeName(std::string_view suggested);

// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string toValidUtf8(std::string_view text);
bool isValidUtf8(std::string_view text);

}  // namespace tincan::transfer
