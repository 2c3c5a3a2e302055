// STUN message codec: RFC 8489 (and RFC 5389 compatibility), with the attributes of
// ICE (RFC 8445 §16), TURN (RFC 8656 §18) and NAT behaviour discovery (RFC 5780 §7).
//
// A Message is a header plus an ordered list of raw attributes with typed accessors. Parsing is
// strict about structure (every length is checked before it is read) and keeps the raw bytes,
// so that MESSAGE-INTEGRITY can be verified later, once the caller knows which key applies.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/common/endpoint.hpp"
#include "tincan/result.hpp"

namespace tincan {
class Random;
}

namespace tincan::stun {

constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr size_t kHeaderSize = 20;
constexpr size_t kMaxMessageSize = 65535 + kHeaderSize;

using TransactionId = std::array<uint8_t, 12>;

enum class Method : uint16_t {
    Binding = 0x001,
    Allocate = 0x003,  // RFC 8656
    Refresh = 0x004,
    Send = 0x006,
    Data = 0x007,
    CreatePermission = 0x008,
    ChannelBind = 0x009,
};

enum class MessageClass : uint8_t {
    Request = 0,
    Indication = 1,
    SuccessResponse = 2,
    ErrorResponse = 3,
};

const char* toString(Method m);

// Attribute types. Comprehension-required are < 0x8000 (RFC 8489 §14).
namespace attr {
constexpr uint16_t MappedAddress = 0x0001;
constexpr uint16_t ChangeRequest = 0x0003;  // RFC 5780
constexpr uint16_t Username = 0x0006;
constexpr uint16_t MessageIntegrity = 0x0008;
constexpr uint16_t ErrorCode = 0x0009;
constexpr uint16_t UnknownAttributes = 0x000A;
constexpr uint16_t ChannelNumber = 0x000C;  // RFC 8656
constexpr uint16_t Lifetime = 0x000D;
constexpr uint16_t XorPeerAddress = 0x0012;
constexpr uint16_t Data = 0x0013;
constexpr uint16_t Realm = 0x0014;
constexpr uint16_t Nonce = 0x0015;
constexpr uint16_t XorRelayedAddress = 0x0016;
constexpr uint16_t RequestedAddressFamily = 0x0017;
constexpr uint16_t EvenPort = 0x0018;
constexpr uint16_t RequestedTransport = 0x0019;
constexpr uint16_t DontFragment = 0x001A;
constexpr uint16_t MessageIntegritySha256 = 0x001C;
constexpr uint16_t PasswordAlgorithm = 0x001D;
constexpr uint16_t Userhash = 0x001E;
constexpr uint16_t XorMappedAddress = 0x0020;
constexpr uint16_t ReservationToken = 0x0022;
constexpr uint16_t Priority = 0x0024;  // RFC 8445
constexpr uint16_t UseCandidate = 0x0025;
constexpr uint16_t Padding = 0x0026;       // RFC 5780
constexpr uint16_t ResponsePort = 0x0027;  // RFC 5780
constexpr uint16_t AdditionalAddressFamily = 0x8000;
constexpr uint16_t AddressErrorCode = 0x8001;
constexpr uint16_t PasswordAlgorithms = 0x8002;
constexpr uint16_t AlternateDomain = 0x8003;
constexpr uint16_t Icmp = 0x8004;
constexpr uint16_t Software = 0x8022;
constexpr uint16_t AlternateServer = 0x8023;
constexpr uint16_t TransactionTransmitCounter = 0x8025;
constexpr uint16_t Fingerprint = 0x8028;
constexpr uint16_t IceControlled = 0x8029;
constexpr uint16_t IceControlling = 0x802A;
constexpr uint16_t ResponseOrigin = 0x802B;  // RFC 5780
constexpr uint16_t OtherAddress = 0x802C;    // RFC 5780

inline bool isComprehensionRequired(uint16_t type) {
    return type < 0x8000;
}
// Whether this codec knows the attribute (unknown comprehension-required ones → 420).
bool isKnown(uint16_t type);
const char* name(uint16_t type);
}  // namespace attr

// Error codes used across the stack (RFC 8489 §14.8, RFC 8656 §18.13, RFC 8445 §7.3.1.1).
namespace error {
constexpr int TryAlternate = 300;
constexpr int BadRequest = 400;
constexpr int Unauthenticated = 401;
constexpr int Forbidden = 403;
constexpr int UnknownAttribute = 420;
constexpr int AllocationMismatch = 437;
constexpr int StaleNonce = 438;
constexpr int AddressFamilyNotSupported = 440;
constexpr int WrongCredentials = 441;
constexpr int UnsupportedTransportProtocol = 442;
constexpr int PeerAddressFamilyMismatch = 443;
constexpr int AllocationQuotaReached = 486;
constexpr int RoleConflict = 487;
constexpr int ServerError = 500;
constexpr int InsufficientCapacity = 508;
}  // namespace error

struct ErrorCode {
    int code = 0;
    std::string reason;
};

enum class PasswordAlgorithm : uint16_t { Md5 = 0x0001, Sha256 = 0x0002 };

struct Attribute {
    uint16_t type = 0;
    Bytes value;
};

// How a message is signed when encoded.
struct Integrity {
    Bytes key;            // short-term: the password; long-term: see longTermKey()
    bool sha256 = false;  // MESSAGE-INTEGRITY-SHA256 instead of MESSAGE-INTEGRITY
};

enum class IntegrityCheck : uint8_t {
    Ok = 1,
    Missing = 2,   // no MESSAGE-INTEGRITY(-SHA256) attribute
    Mismatch = 3,  // wrong key, or the message was altered
};

// Demultiplexing (RFC 7983 §7): the first byte is 0-3, and (RFC 8489 §5) a full header with the
// magic cookie and a length that is a multiple of 4.
bool looksLikeStun(ByteView data);

class Message {
public:
    Message() = default;
    Message(MessageClass cls, Method method, const TransactionId& tid)
        : class_(cls), method_(method), tid_(tid) {}
    // A request or indication with a fresh random transaction id.
    static Message request(Method method, Random& random);
    static Message indication(Method method, Random& random);
    // A success or error response to `req` (same method and transaction id).
    static Message successResponse(const Message& req);
    static Message errorResponse(const Message& req, int code, std::string_view reason);

    MessageClass messageClass() const { return class_; }
    Method method() const { return method_; }
    const TransactionId& transactionId() const { return tid_; }
    bool isRequest() const { return class_ == MessageClass::Request; }
    bool isIndication() const { return class_ == MessageClass::Indication; }
    bool isSuccess() const { return class_ == MessageClass::SuccessResponse; }
    bool isError() const { return class_ == MessageClass::ErrorResponse; }
    bool isResponse() const { return isSuccess() || isError(); }

    const std::vector<Attribute>& attributes() const { return attrs_; }
    const Attribute* find(uint16_t type) const;
    bool has(uint16_t type) const { return find(type) != nullptr; }

    // Adding. Attributes are encoded in the order they are added; integrity and fingerprint
    // are added by encode(), never by hand.
    void addRaw(uint16_t type, ByteView value);
    void addString(uint16_t type, std::string_view value) { addRaw(type, asBytes(value)); }
    void addFlag(uint16_t type) { addRaw(type, {}); }
    void addU32(uint16_t type, uint32_t value);
    void addU64(uint16_t type, uint64_t value);
    void addAddress(uint16_t type, const Endpoint& ep);     // MAPPED-ADDRESS layout
    void addXorAddress(uint16_t type, const Endpoint& ep);  // XOR-*-ADDRESS layout
    void addErrorCode(int code, std::string_view reason);
    void addUnknownAttributes(const std::vector<uint16_t>& types);
    void addRequestedTransport(uint8_t protocol = 17);  // 17 = UDP
    void addChannelNumber(uint16_t channel);
    void addPasswordAlgorithm(PasswordAlgorithm alg);  // PASSWORD-ALGORITHM, no parameters
    void addChangeRequest(bool changeIp, bool changePort);

    // Typed reads: nullopt when absent or malformed.
    std::optional<std::string> getString(uint16_t type) const;
    std::optional<uint32_t> getU32(uint16_t type) const;
    std::optional<uint64_t> getU64(uint16_t type) const;
    std::optional<Endpoint> getAddress(uint16_t type) const;
    std::optional<Endpoint> getXorAddress(uint16_t type) const;
    std::optional<ErrorCode> getErrorCode() const;
    std::vector<uint16_t> getUnknownAttributes() const;
    std::optional<uint16_t> getChannelNumber() const;
    std::optional<uint8_t> getRequestedTransport() const;
    // PASSWORD-ALGORITHMS (RFC 8489 §14.11): the algorithm numbers, in the server's order.
    std::vector<uint16_t> getPasswordAlgorithms() const;
    std::optional<uint16_t> getPasswordAlgorithm() const;

    // Comprehension-required attributes this codec does not know (RFC 8489 §6.3.1 → 420).
    std::vector<uint16_t> unknownComprehensionRequired() const;

    // Wire form. With `integrity`, appends MESSAGE-INTEGRITY (or -SHA256); with `fingerprint`,
    // appends FINGERPRINT last (RFC 8489 §14.5, §14.6, §14.7). Empty if the message cannot be
    // encoded: more than 65535 bytes of attributes, which the length field cannot express.
    Bytes encode(const Integrity* integrity = nullptr, bool fingerprint = false) const;

    // Checks MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY, over the raw bytes
    // this message was parsed from. A message that was not parsed reports Missing.
    IntegrityCheck verifyIntegrity(ByteView key) const;
    bool hasFingerprint() const { return fingerprintChecked_; }

private:
    friend struct Parser;

    MessageClass class_ = MessageClass::Request;
    Method method_ = Method::Binding;
    TransactionId tid_{};
    std::vector<Attribute> attrs_;

    // Filled by parse(): the raw message up to its integrity attribute(s), and where they start.
    Bytes raw_;
    std::optional<size_t> integrityOffset_;        // offset of MESSAGE-INTEGRITY's header
    std::optional<size_t> integritySha256Offset_;  // offset of MESSAGE-INTEGRITY-SHA256's header
    bool fingerprintChecked_ = false;
};

// Parses one STUN message occupying exactly `data`; an Error says what is malformed. A FINGERPRINT,
// when present, must be the last attribute and correct. Attributes after MESSAGE-INTEGRITY(-SHA256)
// other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are ignored (RFC 8489 §14.5).
Result<Message> parse(ByteView data);
// Convenience: nullopt on any error.
std::optional<Message> tryParse(ByteView data);

// Total length of the STUN message at the start of a stream buffer, or nullopt if the
// buffer does not yet hold a full header (used to frame STUN over TCP, RFC 8656 §11.7).
std::optional<size_t> messageLength(ByteView header);

// Keys (RFC 8489 §9.2.2). Passwords are used as given: OpaqueString/SASLprep is the identity for
// the ASCII credentials ICE and TURN servers hand out.
Bytes shortTermKey(std::string_view password);
Bytes longTermKey(std::string_view username, std::string_view realm, std::string_view password,
                  PasswordAlgorithm alg = PasswordAlgorithm::Md5);

uint32_t crc32(ByteView data);

}  // namespace tincan::stun
