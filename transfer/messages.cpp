#include "transfer/messages.hpp"

#include <nlohmann/json.hpp>

namespace tincan::transfer {

using Json = nlohmann::json;

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point at s[i] (RFC 3629 §3: no overlongs, no surrogates, ≤ U+10FFFF).
// Returns the code point and its length, or kReplacement and 1 for an invalid sequence.
std::pair<char32_t, size_t> decode(std::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    if (c < 0x80) return {c, 1};
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || c > 0xF4 || i + len > s.size()) return {kReplacement, 1};
    char32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
        if ((b(k) & 0xC0) != 0x80) return {kReplacement, 1};
        cp = (cp << 6) | (b(k) & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {kReplacement, 1};
    return {cp, len};
}

void encode(char32_t cp, std::string& out) {
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

// Characters that must not reach a file name or a terminal: they are invisible, move the
// cursor, or reorder what is displayed (a "gpj.exe" shown as "exe.jpg").
bool isUnsafe(char32_t cp) {
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)  // C0, DEL, C1 (U+009B is CSI)
           || cp == 0x061C || cp == 0x200E || cp == 0x200F        // bidi marks
           || (cp >= 0x202A && cp <= 0x202E)                      // bidi embeddings, overrides
           || (cp >= 0x2066 && cp <= 0x2069)                      // bidi isolates
           || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF;       // line/paragraph separators, BOM
}

// Valid UTF-8, unsafe characters dropped.
std::string cleanText(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        auto [cp, len] = decode(text, i);
        i += len;
        if (!isUnsafe(cp)) encode(cp, out);
    }
    return out;
}

// The longest prefix of valid UTF-8 `s` of at most `bytes` bytes that ends on a character boundary.
size_t boundaryAtOrBefore(std::string_view s, size_t bytes) {
    if (bytes >= s.size()) return s.size();
    while (bytes > 0 && (static_cast<unsigned char>(s[bytes]) & 0xC0) == 0x80) --bytes;
    return bytes;
}

bool isHex64(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

std::string lower(std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

Error bad(const std::string& type, const char* what) {
    return Error{"the '" + type + "' message " + what};
}

}  // namespace

std::string toValidUtf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        auto [cp, len] = decode(text, i);
        if (cp == kReplacement && len == 1)
            encode(cp, out);
        else
            out.append(text.substr(i, len));
        i += len;
    }
    return out;
}

bool isValidUtf8(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        auto [cp, len] = decode(text, i);
        // U+FFFD itself is 3 bytes long: a 1-byte "replacement" is an invalid sequence.
        if (cp == kReplacement && len == 1) return false;
        i += len;
    }
    return true;
}

std::string sanitizeName(std::string_view suggested) {
    // Bytes below 0x80 are always whole characters in UTF-8, so a byte search for the
    // separators is safe even in invalid input.
    auto slash = suggested.find_last_of("/\\");
    if (slash != std::string_view::npos) suggested.remove_prefix(slash + 1);
    std::string out = cleanText(suggested);
    size_t start = out.find_first_not_of(". ");
    out.erase(0, start == std::string::npos ? out.size() : start);
    if (out.size() > kMaxNameBytes) {
        // Keep a short extension ("….pdf"): it decides how the file opens.
        size_t dot = out.rfind('.');
        size_t extBytes =
            dot != std::string::npos && dot > 0 && out.size() - dot <= 16 ? out.size() - dot : 0;
        std::string ext = out.substr(out.size() - extBytes);
        out.resize(boundaryAtOrBefore(out, kMaxNameBytes - extBytes));
        out += ext;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (out.empty()) out = "file";
    return out;
}

Result<Message> parseMessage(std::string_view text) {
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) return Error{"a text message is not JSON"};
    if (!j.is_object()) return Error{"a text message is not a JSON object"};
    auto type = j.find("type");
    if (type == j.end() || !type->is_string()) return Error{"a message has no \"type\""};
    const std::string& t = type->get_ref<const std::string&>();
    auto field = [&](const char* name) -> const Json* {
        auto it = j.find(name);
        return it == j.end() || it->is_null() ? nullptr : &*it;
    };
    if (t == "file") {
        const Json* name = field("name");
        const Json* size = field("size");
        const Json* mime = field("mime");
        if (!name || !name->is_string()) return bad(t, "has no name");
        if (!size || !size->is_number_unsigned()) return bad(t, "has no valid size");
        FileHeader h{toValidUtf8(name->get_ref<const std::string&>()), size->get<uint64_t>(), {}};
        if (mime && mime->is_string())
            h.mime = cleanText(mime->get_ref<const std::string&>()).substr(0, 255);
        return Message(std::move(h));
    }
    if (t == "accept") {
        const Json* offset = field("offset");
        if (offset && !offset->is_number_unsigned())
            return bad(t, "has an offset that is not a non-negative integer");
        return Message(AcceptMessage{offset ? offset->get<uint64_t>() : 0});
    }
    if (t == "reject") {
        const Json* reason = field("reason");
        std::string r =
            reason && reason->is_string() ? cleanText(reason->get_ref<const std::string&>()) : "";
        r.resize(boundaryAtOrBefore(r, 200));
        return Message(RejectMessage{r.empty() ? "no reason given" : r});
    }
    if (t == "eof") {
        const Json* sha = field("sha256");
        if (!sha || !sha->is_string() || !isHex64(sha->get_ref<const std::string&>()))
            return bad(t, "has no valid sha256");
        return Message(EofMessage{lower(sha->get<std::string>())});
    }
    if (t == "ack") {
        const Json* ok = field("ok");
        const Json* sha = field("sha256");
        if (!ok || !ok->is_boolean()) return bad(t, "has no boolean \"ok\"");
        std::string digest = sha && sha->is_string() && isHex64(sha->get_ref<const std::string&>())
                                 ? lower(sha->get<std::string>())
                                 : "";
        return Message(AckMessage{ok->get<bool>(), digest});
    }
    return Error{"unknown message type '" + cleanText(t).substr(0, 40) + "'"};
}

std::string serialize(const Message& message) {
    Json j = std::visit(
        [](const auto& m) -> Json {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, FileHeader>)
                return {{"type", "file"},
                        {"name", m.name},
                        {"size", m.size},
                        {"mime", m.mime.empty() ? "application/octet-stream" : m.mime}};
            else if constexpr (std::is_same_v<T, AcceptMessage>)
                return {{"type", "accept"}, {"offset", m.offset}};
            else if constexpr (std::is_same_v<T, RejectMessage>)
                return {{"type", "reject"}, {"reason", m.reason}};
            else if constexpr (std::is_same_v<T, EofMessage>)
                return {{"type", "eof"}, {"sha256", m.sha256}};
            else
                return {{"type", "ack"}, {"ok", m.ok}, {"sha256", m.sha256}};
        },
        message);
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace tincan::transfer
