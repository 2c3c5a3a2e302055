#include "core/stun/message.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <memory>

#include "core/common/random.hpp"

namespace tincan::stun {
namespace {

constexpr uint32_t kFingerprintXor = 0x5354554e;  // RFC 8489 §14.7
constexpr size_t kSha1Size = 20;
constexpr size_t kSha256Size = 32;

// RFC 8489 §5: method bits M0-M11 interleaved with class bits C0 (bit 4) and C1 (bit 8).
uint16_t encodeType(MessageClass cls, Method method) {
    auto m = uint16_t(method);
    auto c = uint16_t(cls);
    return uint16_t((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) |
                    ((c & 2) << 7));
}

size_t padded(size_t n) {
    return (n + 3) & ~size_t(3);
}

// HMAC (RFC 2104) over the concatenation of `parts`, written to `out` (20 or 32 bytes).
//
// Built on EVP_Digest* with digests fetched once: OpenSSL 3's one-shot HMAC() looks the
// algorithm up by name on every call, which cost several times the hashing itself for
// STUN-sized messages.
const EVP_MD* sha1Md() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return md;
}
const EVP_MD* sha256Md() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

EVP_MD_CTX* digestContext() {
    thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                                             EVP_MD_CTX_free};
    return ctx.get();
}

bool digest(const EVP_MD* md, std::initializer_list<ByteView> parts, uint8_t* out) {
    EVP_MD_CTX* ctx = digestContext();
    if (!md || !ctx || !EVP_DigestInit_ex2(ctx, md, nullptr)) return false;
    for (ByteView p : parts)
        if (!p.empty() && !EVP_DigestUpdate(ctx, p.data(), p.size())) return false;
    unsigned len = 0;
    return EVP_DigestFinal_ex(ctx, out, &len) == 1;
}

bool hmac(bool sha256, ByteView key, std::initializer_list<ByteView> parts, uint8_t* out) {
    constexpr size_t kBlock = 64;  // SHA-1 and SHA-256
    const EVP_MD* md = sha256 ? sha256Md() : sha1Md();
    const size_t macSize = sha256 ? kSha256Size : kSha1Size;
    uint8_t k[kBlock] = {};
    if (key.size() > kBlock) {
        if (!digest(md, {key}, k)) return false;
    } else if (!key.empty()) {
        std::memcpy(k, key.data(), key.size());
    }
    uint8_t ipad[kBlock], opad[kBlock];
    for (size_t i = 0; i < kBlock; ++i) {
        ipad[i] = uint8_t(k[i] ^ 0x36);
        opad[i] = uint8_t(k[i] ^ 0x5c);
    }
    EVP_MD_CTX* ctx = digestContext();
    if (!md || !ctx || !EVP_DigestInit_ex2(ctx, md, nullptr) ||
        !EVP_DigestUpdate(ctx, ipad, kBlock))
        return false;
    for (ByteView p : parts)
        if (!p.empty() && !EVP_DigestUpdate(ctx, p.data(), p.size())) return false;
    uint8_t inner[kSha256Size];
    unsigned len = 0;
    if (!EVP_DigestFinal_ex(ctx, inner, &len)) return false;
    return digest(md, {ByteView(opad, kBlock), ByteView(inner, macSize)}, out);
}

// The integrity of a received message is computed over its bytes up to the attribute, with
// the header length rewritten to end right after that attribute (RFC 8489 §14.5).
bool checkHmac(const Bytes& raw, size_t attrOffset, size_t macLength, bool sha256, ByteView key) {
    uint8_t header[kHeaderSize];
    std::memcpy(header, raw.data(), kHeaderSize);
    writeU16(header + 2, uint16_t(attrOffset + 4 + padded(macLength) - kHeaderSize));
    uint8_t expected[kSha256Size];
    ByteView body(raw.data() + kHeaderSize, attrOffset - kHeaderSize);
    if (!hmac(sha256, key, {ByteView(header), body}, expected)) return false;
    // MESSAGE-INTEGRITY-SHA256 may be truncated to as few as 16 bytes (§14.6).
    if (macLength > (sha256 ? kSha256Size : kSha1Size)) return false;
    return CRYPTO_memcmp(expected, raw.data() + attrOffset + 4, macLength) == 0;
}

void xorAddressBytes(uint8_t* addr, size_t len, const TransactionId& tid) {
    uint8_t mask[16];
    writeU32(mask, kMagicCookie);
    std::memcpy(mask + 4, tid.data(), tid.size());
    for (size_t i = 0; i < len; ++i) addr[i] ^= mask[i];
}

std::optional<Endpoint> readAddress(ByteView v, bool xored, const TransactionId& tid) {
    if (v.size() < 4) return std::nullopt;
    uint8_t family = v[1];
    uint16_t port = readU16(v.data() + 2);
    if (xored) port ^= uint16_t(kMagicCookie >> 16);
    if (family == 0x01 && v.size() == 8) {
        uint8_t a[4];
        std::memcpy(a, v.data() + 4, 4);
        if (xored) xorAddressBytes(a, 4, tid);
        return Endpoint{IpAddress::v4(std::span<const uint8_t, 4>(a, 4)), port};
    }
    if (family == 0x02 && v.size() == 20) {
        uint8_t a[16];
        std::memcpy(a, v.data() + 4, 16);
        if (xored) xorAddressBytes(a, 16, tid);
        return Endpoint{IpAddress::v6(std::span<const uint8_t, 16>(a, 16)), port};
    }
    return std::nullopt;
}

Bytes writeAddress(const Endpoint& ep, bool xored, const TransactionId& tid) {
    Bytes v;
    v.reserve(20);
    v.push_back(0);
    v.push_back(ep.ip.isV4() ? 0x01 : 0x02);
    appendU16(v, xored ? uint16_t(ep.port ^ (kMagicCookie >> 16)) : ep.port);
    size_t at = v.size();
    appendBytes(v, ep.ip.bytes());
    if (xored) xorAddressBytes(v.data() + at, ep.ip.bytes().size(), tid);
    return v;
}

}  // namespace

const char* toString(Method m) {
    switch (m) {
        case Method::Binding:
            return "Binding";
        case Method::Allocate:
            return "Allocate";
        case Method::Refresh:
            return "Refresh";
        case Method::Send:
            return "Send";
        case Method::Data:
            return "Data";
        case Method::CreatePermission:
            return "CreatePermission";
        case Method::ChannelBind:
            return "ChannelBind";
    }
    return "Unknown";
}

namespace attr {
bool isKnown(uint16_t type) {
    return std::string_view(name(type)) != "UNKNOWN";
}

const char* name(uint16_t type) {
    switch (type) {
        case MappedAddress:
            return "MAPPED-ADDRESS";
        case ChangeRequest:
            return "CHANGE-REQUEST";
        case Username:
            return "USERNAME";
        case MessageIntegrity:
            return "MESSAGE-INTEGRITY";
        case ErrorCode:
            return "ERROR-CODE";
        case UnknownAttributes:
            return "UNKNOWN-ATTRIBUTES";
        case ChannelNumber:
            return "CHANNEL-NUMBER";
        case Lifetime:
            return "LIFETIME";
        case XorPeerAddress:
            return "XOR-PEER-ADDRESS";
        case Data:
            return "DATA";
        case Realm:
            return "REALM";
        case Nonce:
            return "NONCE";
        case XorRelayedAddress:
            return "XOR-RELAYED-ADDRESS";
        case RequestedAddressFamily:
            return "REQUESTED-ADDRESS-FAMILY";
        case EvenPort:
            return "EVEN-PORT";
        case RequestedTransport:
            return "REQUESTED-TRANSPORT";
        case DontFragment:
            return "DONT-FRAGMENT";
        case MessageIntegritySha256:
            return "MESSAGE-INTEGRITY-SHA256";
        case PasswordAlgorithm:
            return "PASSWORD-ALGORITHM";
        case Userhash:
            return "USERHASH";
        case XorMappedAddress:
            return "XOR-MAPPED-ADDRESS";
        case ReservationToken:
            return "RESERVATION-TOKEN";
        case Priority:
            return "PRIORITY";
        case UseCandidate:
            return "USE-CANDIDATE";
        case Padding:
            return "PADDING";
        case ResponsePort:
            return "RESPONSE-PORT";
        case AdditionalAddressFamily:
            return "ADDITIONAL-ADDRESS-FAMILY";
        case AddressErrorCode:
            return "ADDRESS-ERROR-CODE";
        case PasswordAlgorithms:
            return "PASSWORD-ALGORITHMS";
        case AlternateDomain:
            return "ALTERNATE-DOMAIN";
        case Icmp:
            return "ICMP";
        case Software:
            return "SOFTWARE";
        case AlternateServer:
            return "ALTERNATE-SERVER";
        case TransactionTransmitCounter:
            return "TRANSACTION-TRANSMIT-COUNTER";
        case Fingerprint:
            return "FINGERPRINT";
        case IceControlled:
            return "ICE-CONTROLLED";
        case IceControlling:
            return "ICE-CONTROLLING";
        case ResponseOrigin:
            return "RESPONSE-ORIGIN";
        case OtherAddress:
            return "OTHER-ADDRESS";
        default:
            return "UNKNOWN";
    }
}
}  // namespace attr

bool looksLikeStun(ByteView data) {
    // RFC 7983 §7: 0-3 is STUN; 16-19 ZRTP, 20-63 DTLS, 64-79 TURN ChannelData, 128-191 RTP.
    return data.size() >= kHeaderSize && data[0] <= 3 && readU32(data.data() + 4) == kMagicCookie &&
           (readU16(data.data() + 2) & 3) == 0;
}

Message Message::request(Method method, Random& random) {
    TransactionId tid;
    random.fill(tid);
    return Message(MessageClass::Request, method, tid);
}

Message Message::indication(Method method, Random& random) {
    TransactionId tid;
    random.fill(tid);
    return Message(MessageClass::Indication, method, tid);
}

Message Message::successResponse(const Message& req) {
    return Message(MessageClass::SuccessResponse, req.method(), req.transactionId());
}

Message Message::errorResponse(const Message& req, int code, std::string_view reason) {
    Message m(MessageClass::ErrorResponse, req.method(), req.transactionId());
    m.addErrorCode(code, reason);
    return m;
}

const Attribute* Message::find(uint16_t type) const {
    for (const auto& a : attrs_)
        if (a.type == type) return &a;
    return nullptr;
}

void Message::addRaw(uint16_t type, ByteView value) {
    attrs_.push_back(Attribute{type, Bytes(value.begin(), value.end())});
}

void Message::addU32(uint16_t type, uint32_t value) {
    uint8_t b[4];
    writeU32(b, value);
    addRaw(type, b);
}

void Message::addU64(uint16_t type, uint64_t value) {
    uint8_t b[8];
    writeU32(b, uint32_t(value >> 32));
    writeU32(b + 4, uint32_t(value));
    addRaw(type, b);
}

void Message::addAddress(uint16_t type, const Endpoint& ep) {
    attrs_.push_back(Attribute{type, writeAddress(ep, false, tid_)});
}

void Message::addXorAddress(uint16_t type, const Endpoint& ep) {
    attrs_.push_back(Attribute{type, writeAddress(ep, true, tid_)});
}

void Message::addErrorCode(int code, std::string_view reason) {
    Bytes v{0, 0, uint8_t((code / 100) & 7), uint8_t(code % 100)};
    // §14.8: < 128 characters / 763 bytes; never cut inside a UTF-8 sequence.
    size_t n = std::min(reason.size(), size_t(763));
    if (n < reason.size())
        while (n > 0 && (uint8_t(reason[n]) & 0xC0) == 0x80) --n;
    appendBytes(v, asBytes(reason.substr(0, n)));
    attrs_.push_back(Attribute{attr::ErrorCode, std::move(v)});
}

void Message::addUnknownAttributes(const std::vector<uint16_t>& types) {
    Bytes v;
    for (uint16_t t : types) appendU16(v, t);
    attrs_.push_back(Attribute{attr::UnknownAttributes, std::move(v)});
}

void Message::addRequestedTransport(uint8_t protocol) {
    addRaw(attr::RequestedTransport, Bytes{protocol, 0, 0, 0});
}

void Message::addChannelNumber(uint16_t channel) {
    addRaw(attr::ChannelNumber, Bytes{uint8_t(channel >> 8), uint8_t(channel), 0, 0});
}

void Message::addPasswordAlgorithm(PasswordAlgorithm alg) {
    // §14.12: a 16-bit algorithm number, then a zero parameters length.
    addRaw(attr::PasswordAlgorithm, Bytes{uint8_t(uint16_t(alg) >> 8), uint8_t(alg), 0, 0});
}

void Message::addChangeRequest(bool changeIp, bool changePort) {
    addU32(attr::ChangeRequest, (changeIp ? 4u : 0u) | (changePort ? 2u : 0u));
}

std::optional<std::string> Message::getString(uint16_t type) const {
    const Attribute* a = find(type);
    if (!a) return std::nullopt;
    return std::string(asString(a->value));
}

std::optional<uint32_t> Message::getU32(uint16_t type) const {
    const Attribute* a = find(type);
    if (!a || a->value.size() != 4) return std::nullopt;
    return readU32(a->value.data());
}

std::optional<uint64_t> Message::getU64(uint16_t type) const {
    const Attribute* a = find(type);
    if (!a || a->value.size() != 8) return std::nullopt;
    return uint64_t(readU32(a->value.data())) << 32 | readU32(a->value.data() + 4);
}

std::optional<Endpoint> Message::getAddress(uint16_t type) const {
    const Attribute* a = find(type);
    if (!a) return std::nullopt;
    return readAddress(a->value, false, tid_);
}

std::optional<Endpoint> Message::getXorAddress(uint16_t type) const {
    const Attribute* a = find(type);
    if (!a) return std::nullopt;
    return readAddress(a->value, true, tid_);
}

std::optional<ErrorCode> Message::getErrorCode() const {
    const Attribute* a = find(attr::ErrorCode);
    if (!a || a->value.size() < 4) return std::nullopt;
    int cls = a->value[2] & 7;
    int number = a->value[3];
    if (cls < 3 || cls > 6 || number > 99) return std::nullopt;
    return ErrorCode{cls * 100 + number, std::string(asString(ByteView(a->value).subspan(4)))};
}

std::vector<uint16_t> Message::getUnknownAttributes() const {
    std::vector<uint16_t> out;
    const Attribute* a = find(attr::UnknownAttributes);
    if (!a) return out;
    for (size_t i = 0; i + 1 < a->value.size(); i += 2) out.push_back(readU16(&a->value[i]));
    return out;
}

std::optional<uint16_t> Message::getChannelNumber() const {
    const Attribute* a = find(attr::ChannelNumber);
    if (!a || a->value.size() != 4) return std::nullopt;
    return readU16(a->value.data());
}

std::optional<uint8_t> Message::getRequestedTransport() const {
    const Attribute* a = find(attr::RequestedTransport);
    if (!a || a->value.size() != 4) return std::nullopt;
    return a->value[0];
}

std::vector<uint16_t> Message::getPasswordAlgorithms() const {
    std::vector<uint16_t> out;
    const Attribute* a = find(attr::PasswordAlgorithms);
    if (!a) return out;
    // Each entry: algorithm (2), parameters length (2), parameters padded to 4.
    size_t i = 0;
    const auto& v = a->value;
    while (i + 4 <= v.size()) {
        uint16_t alg = readU16(&v[i]);
        size_t plen = readU16(&v[i + 2]);
        size_t next = i + 4 + padded(plen);
        if (next > v.size()) break;
        out.push_back(alg);
        i = next;
    }
    return out;
}

std::optional<uint16_t> Message::getPasswordAlgorithm() const {
    const Attribute* a = find(attr::PasswordAlgorithm);
    if (!a || a->value.size() < 4) return std::nullopt;
    return readU16(a->value.data());
}

std::vector<uint16_t> Message::unknownComprehensionRequired() const {
    std::vector<uint16_t> out;
    for (const auto& a : attrs_)
        if (attr::isComprehensionRequired(a.type) && !attr::isKnown(a.type)) out.push_back(a.type);
    return out;
}

Bytes Message::encode(const Integrity* integrity, bool fingerprint) const {
    const size_t macSize = integrity ? (integrity->sha256 ? kSha256Size : kSha1Size) : 0;
    size_t body = 0;
    for (const auto& a : attrs_) {
        if (a.value.size() > 0xFFFF) return {};
        body += 4 + padded(a.value.size());
    }
    if (integrity) body += 4 + macSize;
    if (fingerprint) body += 8;
    // The length field is 16 bits (RFC 8489 §5): a bigger message cannot be expressed.
    if (body > 0xFFFF) return {};

    Bytes out(kHeaderSize + body);  // zero-filled, so padding is zeros (RFC 8489 §14)
    uint8_t* p = out.data();
    writeU16(p, encodeType(class_, method_));
    writeU32(p + 4, kMagicCookie);
    std::memcpy(p + 8, tid_.data(), tid_.size());
    size_t pos = kHeaderSize;
    for (const auto& a : attrs_) {
        writeU16(p + pos, a.type);
        writeU16(p + pos + 2, uint16_t(a.value.size()));
        if (!a.value.empty()) std::memcpy(p + pos + 4, a.value.data(), a.value.size());
        pos += 4 + padded(a.value.size());
    }
    if (integrity) {
        // §14.5: the length covers the attribute itself while the HMAC is computed.
        writeU16(p + 2, uint16_t(pos + 4 + macSize - kHeaderSize));
        if (!hmac(integrity->sha256, integrity->key, {ByteView(p, pos)}, p + pos + 4)) return {};
        writeU16(p + pos,
                 integrity->sha256 ? attr::MessageIntegritySha256 : attr::MessageIntegrity);
        writeU16(p + pos + 2, uint16_t(macSize));
        pos += 4 + macSize;
    }
    if (fingerprint) {
        writeU16(p + 2, uint16_t(pos + 8 - kHeaderSize));  // §14.7: likewise for FINGERPRINT
        uint32_t crc = crc32(ByteView(p, pos)) ^ kFingerprintXor;
        writeU16(p + pos, attr::Fingerprint);
        writeU16(p + pos + 2, 4);
        writeU32(p + pos + 4, crc);
        pos += 8;
    }
    writeU16(p + 2, uint16_t(pos - kHeaderSize));
    return out;
}

IntegrityCheck Message::verifyIntegrity(ByteView key) const {
    if (integritySha256Offset_) {
        size_t len = readU16(raw_.data() + *integritySha256Offset_ + 2);
        return checkHmac(raw_, *integritySha256Offset_, len, true, key) ? IntegrityCheck::Ok
                                                                        : IntegrityCheck::Mismatch;
    }
    if (integrityOffset_) {
        return checkHmac(raw_, *integrityOffset_, kSha1Size, false, key) ? IntegrityCheck::Ok
                                                                         : IntegrityCheck::Mismatch;
    }
    return IntegrityCheck::Missing;
}

struct Parser {
    static Result<Message> run(ByteView data) {
        if (data.size() < kHeaderSize) return Error{"shorter than a STUN header"};
        if (data.size() > kMaxMessageSize) return Error{"longer than a STUN message can be"};
        uint16_t type = readU16(data.data());
        if (type & 0xC000) return Error{"first two bits are not zero"};
        size_t length = readU16(data.data() + 2);
        if (length % 4) return Error{"length is not a multiple of 4"};
        if (readU32(data.data() + 4) != kMagicCookie) return Error{"no magic cookie"};
        if (kHeaderSize + length != data.size())
            return Error{"length field " + std::to_string(length) + " does not match " +
                         std::to_string(data.size() - kHeaderSize) + " bytes of body"};

        Message m;
        m.class_ = MessageClass(((type >> 4) & 1) | ((type >> 7) & 2));
        m.method_ = Method((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
        std::memcpy(m.tid_.data(), data.data() + 8, 12);

        // One allocation for the attribute list (an upper bound: it counts every TLV).
        size_t count = 0;
        for (size_t q = kHeaderSize; q + 4 <= data.size(); q += 4 + padded(readU16(&data[q + 2])))
            ++count;
        m.attrs_.reserve(count);

        bool afterIntegrity = false;
        size_t rawEnd = 0;  // end of the last integrity attribute that counts
        size_t pos = kHeaderSize;
        while (pos < data.size()) {
            if (data.size() - pos < 4) return Error{"truncated attribute header"};
            uint16_t atype = readU16(data.data() + pos);
            size_t alen = readU16(data.data() + pos + 2);
            if (alen > data.size() - pos - 4)
                return Error{std::string("attribute ") + attr::name(atype) +
                             " runs past the end of the message"};
            if (padded(alen) > data.size() - pos - 4)
                return Error{"attribute padding runs past the end of the message"};
            ByteView value = data.subspan(pos + 4, alen);

            if (atype == attr::Fingerprint) {
                if (alen != 4) return Error{"FINGERPRINT has the wrong length"};
                if (pos + 8 != data.size()) return Error{"FINGERPRINT is not the last attribute"};
                uint32_t expected = crc32(data.first(pos)) ^ kFingerprintXor;
                if (readU32(value.data()) != expected) return Error{"FINGERPRINT mismatch"};
                m.fingerprintChecked_ = true;
            } else if (atype == attr::MessageIntegrity) {
                // §14.5/§14.6: counts only as the first integrity attribute; a later one is
                // ignored like any other attribute after MESSAGE-INTEGRITY(-SHA256).
                if (!afterIntegrity) {
                    if (alen != kSha1Size) return Error{"MESSAGE-INTEGRITY has the wrong length"};
                    m.integrityOffset_ = pos;
                    rawEnd = pos + 4 + alen;
                }
                afterIntegrity = true;
            } else if (atype == attr::MessageIntegritySha256) {
                // May follow MESSAGE-INTEGRITY (§14.6); a second one is ignored.
                if (!m.integritySha256Offset_) {
                    if (alen < 16 || alen > kSha256Size || alen % 4)
                        return Error{"MESSAGE-INTEGRITY-SHA256 has the wrong length"};
                    m.integritySha256Offset_ = pos;
                    rawEnd = pos + 4 + alen;
                }
                afterIntegrity = true;
            } else if (!afterIntegrity) {
                if (!attributeLengthOk(atype, alen))
                    return Error{std::string("attribute ") + attr::name(atype) +
                                 " has an invalid length " + std::to_string(alen)};
                m.attrs_.push_back(Attribute{atype, Bytes(value.begin(), value.end())});
            }
            // Anything else after MESSAGE-INTEGRITY is ignored (RFC 8489 §14.5).
            pos += 4 + padded(alen);
        }
        // verifyIntegrity() needs the bytes up to the integrity attribute, and only those.
        if (rawEnd) m.raw_.assign(data.begin(), data.begin() + rawEnd);
        return m;
    }

    // Fixed-size attributes must have their size; variable ones their limits (RFC 8489 §14).
    static bool attributeLengthOk(uint16_t type, size_t len) {
        switch (type) {
            case attr::MappedAddress:
            case attr::XorMappedAddress:
            case attr::XorPeerAddress:
            case attr::XorRelayedAddress:
            case attr::AlternateServer:
            case attr::ResponseOrigin:
            case attr::OtherAddress:
                return len == 8 || len == 20;
            case attr::Priority:
            case attr::Lifetime:
            case attr::ChannelNumber:
            case attr::RequestedTransport:
            case attr::ChangeRequest:
            case attr::RequestedAddressFamily:
            case attr::ResponsePort:
                return len == 4;
            case attr::IceControlled:
            case attr::IceControlling:
            case attr::ReservationToken:
                return len == 8;
            case attr::UseCandidate:
            case attr::DontFragment:
                return len == 0;
            case attr::ErrorCode:
                return len >= 4 && len <= 4 + 763;
            case attr::Username:
                return len <= 513;
            case attr::Realm:
            case attr::Nonce:
            case attr::Software:
                return len <= 763;
            case attr::UnknownAttributes:
                return len % 2 == 0;
            case attr::Userhash:
                return len == 32;
            default:
                return true;
        }
    }
};

Result<Message> parse(ByteView data) {
    return Parser::run(data);
}

std::optional<Message> tryParse(ByteView data) {
    auto r = parse(data);
    if (!r) return std::nullopt;
    return std::move(r).value();
}

std::optional<size_t> messageLength(ByteView header) {
    if (header.size() < kHeaderSize) return std::nullopt;
    return kHeaderSize + readU16(header.data() + 2);
}

Bytes shortTermKey(std::string_view password) {
    return Bytes(password.begin(), password.end());
}

Bytes longTermKey(std::string_view username, std::string_view realm, std::string_view password,
                  PasswordAlgorithm alg) {
    std::string input;
    input.reserve(username.size() + realm.size() + password.size() + 2);
    input.append(username).append(":").append(realm).append(":").append(password);
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned len = 0;
    EVP_Digest(input.data(), input.size(), out.data(), &len,
               alg == PasswordAlgorithm::Sha256 ? EVP_sha256() : EVP_md5(), nullptr);
    out.resize(len);
    return out;
}

namespace {

// CRC-32 (ISO-HDLC, reflected 0xEDB88320), sliced by 8: table k advances the CRC over a byte
// followed by k zero bytes, so eight table lookups consume eight input bytes.
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;

constexpr CrcTables makeCrcTables() {
    CrcTables t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
        for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    return t;
}

constexpr CrcTables kCrc = makeCrcTables();

uint32_t readLe32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

uint32_t crc32(ByteView data) {
    uint32_t crc = 0xFFFFFFFFu;
    const uint8_t* p = data.data();
    size_t n = data.size();
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo = readLe32(p) ^ crc;
        uint32_t hi = readLe32(p + 4);
        crc = kCrc[7][lo & 0xFF] ^ kCrc[6][(lo >> 8) & 0xFF] ^ kCrc[5][(lo >> 16) & 0xFF] ^
              kCrc[4][lo >> 24] ^ kCrc[3][hi & 0xFF] ^ kCrc[2][(hi >> 8) & 0xFF] ^
              kCrc[1][(hi >> 16) & 0xFF] ^ kCrc[0][hi >> 24];
    }
    for (; n; ++p, --n) crc = kCrc[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

}  // namespace tincan::stun
