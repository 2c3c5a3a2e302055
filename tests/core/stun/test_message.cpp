// The STUN codec beyond the published vectors: every typed accessor through encode and parse,
// message type bits, integrity and fingerprint failure modes, and what the parser rejects.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>

#include "core/common/random.hpp"
#include "core/stun/message.hpp"
#include "tests/core/stun/rfc5769_vectors.hpp"
#include "tests/core/stun/test_util.hpp"

using namespace tincan;
using namespace tincan::stun;
using testutil::mustParse;
using testutil::rejection;
namespace tv = tincan::stun::testvec;

namespace {

constexpr TransactionId kTid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

Message roundTrip(const Message& m, const Integrity* integrity = nullptr, bool fp = false) {
    Bytes wire = m.encode(integrity, fp);
    EXPECT_FALSE(wire.empty());
    return mustParse(wire);
}

// Hand-built wire bytes, for inputs the encoder would never produce.
class Raw {
public:
    explicit Raw(uint16_t type = 0x0001) {
        appendU16(b_, type);
        appendU16(b_, 0);
        appendU32(b_, kMagicCookie);
        appendBytes(b_, kTid);
    }
    // An attribute whose length field says `declared` (default: the value's size), padded to 4.
    Raw& attr(uint16_t type, ByteView value, std::optional<uint16_t> declared = std::nullopt) {
        appendU16(b_, type);
        appendU16(b_, declared.value_or(uint16_t(value.size())));
        appendBytes(b_, value);
        b_.resize((b_.size() + 3) & ~size_t(3), 0);
        return *this;
    }
    Raw& attr(uint16_t type, size_t zeros) { return attr(type, Bytes(zeros, 0)); }
    // The bytes with the header length matching the body, or forced to `length`.
    Bytes bytes(std::optional<uint16_t> length = std::nullopt) const {
        Bytes out = b_;
        writeU16(out.data() + 2, length.value_or(uint16_t(out.size() - kHeaderSize)));
        return out;
    }
    // Appends a correct FINGERPRINT and returns the bytes.
    Bytes withFingerprint() const {
        Bytes out = b_;
        writeU16(out.data() + 2, uint16_t(out.size() - kHeaderSize + 8));
        uint32_t crc = crc32(out) ^ 0x5354554e;
        appendU16(out, attr::Fingerprint);
        appendU16(out, 4);
        appendU32(out, crc);
        return out;
    }

private:
    Bytes b_;
};

// HMAC over `msg` with its length field set to end `macSize` bytes after the attribute header
// that will follow it: an oracle independent of the codec, for hand-built messages.
Bytes hmacFor(const Bytes& msg, size_t macSize, bool sha256, ByteView key) {
    Bytes covered = msg;
    writeU16(covered.data() + 2, uint16_t(covered.size() - kHeaderSize + 4 + macSize));
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(sha256 ? EVP_sha256() : EVP_sha1(), key.data(), int(key.size()), covered.data(),
         covered.size(), out, &len);
    return Bytes(out, out + std::min<size_t>(len, macSize));
}

Bytes appendAttr(Bytes msg, uint16_t type, ByteView value) {
    appendU16(msg, type);
    appendU16(msg, uint16_t(value.size()));
    appendBytes(msg, value);
    msg.resize((msg.size() + 3) & ~size_t(3), 0);
    writeU16(msg.data() + 2, uint16_t(msg.size() - kHeaderSize));
    return msg;
}

}  // namespace

// --- Header ------------------------------------------------------------------------------------

TEST(StunHeader, ClassAndMethodBitsMatchRfc8489And8656) {
    // RFC 8489 §5 / §18.2 and RFC 8656 §17: the well-known message types.
    struct Case {
        MessageClass cls;
        Method method;
        uint16_t type;
    };
    const Case cases[] = {
        {MessageClass::Request, Method::Binding, 0x0001},
        {MessageClass::Indication, Method::Binding, 0x0011},
        {MessageClass::SuccessResponse, Method::Binding, 0x0101},
        {MessageClass::ErrorResponse, Method::Binding, 0x0111},
        {MessageClass::Request, Method::Allocate, 0x0003},
        {MessageClass::SuccessResponse, Method::Allocate, 0x0103},
        {MessageClass::ErrorResponse, Method::Allocate, 0x0113},
        {MessageClass::Request, Method::Refresh, 0x0004},
        {MessageClass::SuccessResponse, Method::Refresh, 0x0104},
        {MessageClass::ErrorResponse, Method::Refresh, 0x0114},
        {MessageClass::Indication, Method::Send, 0x0016},
        {MessageClass::Indication, Method::Data, 0x0017},
        {MessageClass::Request, Method::CreatePermission, 0x0008},
        {MessageClass::SuccessResponse, Method::CreatePermission, 0x0108},
        {MessageClass::ErrorResponse, Method::CreatePermission, 0x0118},
        {MessageClass::Request, Method::ChannelBind, 0x0009},
        {MessageClass::SuccessResponse, Method::ChannelBind, 0x0109},
        {MessageClass::ErrorResponse, Method::ChannelBind, 0x0119},
        // The largest method: all twelve method bits around the two class bits.
        {MessageClass::Request, Method(0xFFF), 0x3EEF},
        {MessageClass::ErrorResponse, Method(0xFFF), 0x3FFF},
    };
    for (const auto& c : cases) {
        Bytes wire = Message(c.cls, c.method, kTid).encode();
        ASSERT_EQ(wire.size(), kHeaderSize);
        EXPECT_EQ(readU16(wire.data()), c.type) << toString(c.method) << " " << int(c.cls);
        Message back = mustParse(wire);
        EXPECT_EQ(back.messageClass(), c.cls);
        EXPECT_EQ(back.method(), c.method);
        EXPECT_EQ(back.transactionId(), kTid);
    }
}

TEST(StunHeader, EveryMethodAndClassRoundTrips) {
    const Method methods[] = {Method::Binding,    Method::Allocate, Method::Refresh,
                              Method::Send,       Method::Data,     Method::CreatePermission,
                              Method::ChannelBind};
    const MessageClass classes[] = {MessageClass::Request, MessageClass::Indication,
                                    MessageClass::SuccessResponse, MessageClass::ErrorResponse};
    for (Method method : methods) {
        EXPECT_STRNE(toString(method), "Unknown");
        for (MessageClass cls : classes) {
            Message back = roundTrip(Message(cls, method, kTid));
            EXPECT_EQ(back.method(), method);
            EXPECT_EQ(back.messageClass(), cls);
            EXPECT_EQ(back.isRequest(), cls == MessageClass::Request);
            EXPECT_EQ(back.isIndication(), cls == MessageClass::Indication);
            EXPECT_EQ(back.isSuccess(), cls == MessageClass::SuccessResponse);
            EXPECT_EQ(back.isError(), cls == MessageClass::ErrorResponse);
            EXPECT_EQ(back.isResponse(), back.isSuccess() || back.isError());
        }
    }
    // Every 12-bit method survives the interleaving.
    for (uint16_t m = 0; m <= 0xFFF; ++m) {
        Message back = roundTrip(Message(MessageClass::Indication, Method(m), kTid));
        ASSERT_EQ(uint16_t(back.method()), m);
    }
}

TEST(StunHeader, RequestsGetFreshTransactionIdsAndResponsesCopyThem) {
    Random random(7);
    Message a = Message::request(Method::Binding, random);
    Message b = Message::request(Method::Binding, random);
    EXPECT_NE(a.transactionId(), b.transactionId());
    EXPECT_TRUE(Message::indication(Method::Send, random).isIndication());

    Message ok = Message::successResponse(a);
    EXPECT_TRUE(ok.isSuccess());
    EXPECT_EQ(ok.transactionId(), a.transactionId());
    Message err = Message::errorResponse(a, error::RoleConflict, "Role Conflict");
    EXPECT_TRUE(err.isError());
    EXPECT_EQ(err.method(), Method::Binding);
    EXPECT_EQ(err.transactionId(), a.transactionId());
    auto ec = roundTrip(err).getErrorCode();
    ASSERT_TRUE(ec);
    EXPECT_EQ(ec->code, 487);
    EXPECT_EQ(ec->reason, "Role Conflict");
}

// --- Typed accessors ---------------------------------------------------------------------------

TEST(StunAttributes, XorAddressesRoundTripV4AndV6) {
    const char* endpoints[] = {"192.0.2.1:32853",
                               "0.0.0.0:0",
                               "255.255.255.255:65535",
                               "[2001:db8::1]:3478",
                               "[::]:1",
                               "[::ffff:198.51.100.7]:9",
                               "[fe80::1:2:3:4]:65535",
                               "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1"};
    const uint16_t types[] = {attr::XorMappedAddress, attr::XorPeerAddress,
                              attr::XorRelayedAddress};
    for (const char* text : endpoints) {
        Endpoint ep = *Endpoint::parse(text);
        Message m(MessageClass::SuccessResponse, Method::Allocate, kTid);
        for (uint16_t t : types) m.addXorAddress(t, ep);
        // The value is XOR-ed on the wire (RFC 8489 §14.2): the plain bytes never appear.
        const Bytes& value = m.find(attr::XorMappedAddress)->value;
        EXPECT_EQ(value.size(), ep.ip.isV4() ? 8u : 20u);
        EXPECT_EQ(value[1], ep.ip.isV4() ? 0x01 : 0x02);
        EXPECT_EQ(readU16(&value[2]), uint16_t(ep.port ^ 0x2112)) << text;
        Message back = roundTrip(m);
        for (uint16_t t : types) EXPECT_EQ(back.getXorAddress(t), ep) << text;
    }
}

TEST(StunAttributes, XorDependsOnTheTransactionIdForV6Only) {
    Endpoint v4 = *Endpoint::parse("203.0.113.9:4000");
    Endpoint v6 = *Endpoint::parse("[2001:db8::9]:4000");
    TransactionId other = kTid;
    other[11] ^= 0xff;
    Message a(MessageClass::SuccessResponse, Method::Binding, kTid);
    Message b(MessageClass::SuccessResponse, Method::Binding, other);
    for (Message* m : {&a, &b}) {
        m->addXorAddress(attr::XorMappedAddress, v4);
        m->addXorAddress(attr::XorPeerAddress, v6);
    }
    EXPECT_EQ(a.find(attr::XorMappedAddress)->value, b.find(attr::XorMappedAddress)->value);
    EXPECT_NE(a.find(attr::XorPeerAddress)->value, b.find(attr::XorPeerAddress)->value);
}

TEST(StunAttributes, PlainAddressesRoundTrip) {
    for (const char* text : {"198.51.100.1:3478", "[2001:db8::2]:5349"}) {
        Endpoint ep = *Endpoint::parse(text);
        Message m(MessageClass::SuccessResponse, Method::Binding, kTid);
        m.addAddress(attr::MappedAddress, ep);
        m.addAddress(attr::OtherAddress, ep);
        m.addAddress(attr::ResponseOrigin, ep);
        m.addAddress(attr::AlternateServer, ep);
        Message back = roundTrip(m);
        for (uint16_t t :
             {attr::MappedAddress, attr::OtherAddress, attr::ResponseOrigin, attr::AlternateServer})
            EXPECT_EQ(back.getAddress(t), ep) << text;
    }
}

TEST(StunAttributes, MalformedAddressesReadAsNothing) {
    Message m(MessageClass::SuccessResponse, Method::Binding, kTid);
    const uint8_t family3[] = {0, 3, 0, 1, 1, 2, 3, 4};
    const uint8_t v4With20[20] = {0, 1, 0, 1};
    const uint8_t v6With8[8] = {0, 2, 0, 1};
    const uint8_t short3[3] = {0, 1, 0};
    m.addRaw(attr::MappedAddress, family3);
    m.addRaw(attr::XorMappedAddress, v4With20);
    m.addRaw(attr::XorPeerAddress, v6With8);
    m.addRaw(attr::XorRelayedAddress, short3);
    EXPECT_FALSE(m.getAddress(attr::MappedAddress));
    EXPECT_FALSE(m.getXorAddress(attr::XorMappedAddress));
    EXPECT_FALSE(m.getXorAddress(attr::XorPeerAddress));
    EXPECT_FALSE(m.getXorAddress(attr::XorRelayedAddress));
    EXPECT_FALSE(m.getXorAddress(attr::AlternateServer));  // absent
}

TEST(StunAttributes, ErrorCodesRoundTripWithReason) {
    struct Case {
        int code;
        std::string reason;
    };
    const Case cases[] = {
        {error::TryAlternate, "Try Alternate"},
        {error::BadRequest, "Bad Request"},
        {error::Unauthenticated, "Unauthenticated"},
        {error::Forbidden, ""},
        {error::UnknownAttribute, "Unknown Attribute"},
        {error::AllocationMismatch, "Allocation Mismatch"},
        {error::StaleNonce, "Stale Nonce"},
        {error::AddressFamilyNotSupported, "Address Family not Supported"},
        {error::WrongCredentials, "Wrong Credentials"},
        {error::UnsupportedTransportProtocol, "Unsupported Transport Protocol"},
        {error::PeerAddressFamilyMismatch, "Peer Address Family Mismatch"},
        {error::AllocationQuotaReached, "Allocation Quota Reached"},
        {error::RoleConflict, "Role Conflict"},
        {error::ServerError, "Server Error"},
        {error::InsufficientCapacity, "Insufficient Capacity"},
        {699, "r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93"},  // UTF-8 reason, odd length
        {300, "abc"},
    };
    for (const auto& c : cases) {
        Message m(MessageClass::ErrorResponse, Method::Allocate, kTid);
        m.addErrorCode(c.code, c.reason);
        const Bytes& v = m.find(attr::ErrorCode)->value;
        EXPECT_EQ(v[0], 0);
        EXPECT_EQ(v[1], 0);
        EXPECT_EQ(v[2], c.code / 100);  // RFC 8489 §14.8: class in the low 3 bits
        EXPECT_EQ(v[3], c.code % 100);
        auto ec = roundTrip(m).getErrorCode();
        ASSERT_TRUE(ec) << c.code;
        EXPECT_EQ(ec->code, c.code);
        EXPECT_EQ(ec->reason, c.reason);
    }
}

TEST(StunAttributes, ErrorCodeOutOfRangeReadsAsNothing) {
    for (auto raw : {Bytes{0, 0, 2, 0}, Bytes{0, 0, 7, 0}, Bytes{0, 0, 4, 100}, Bytes{0, 0, 4}}) {
        Message m(MessageClass::ErrorResponse, Method::Binding, kTid);
        m.addRaw(attr::ErrorCode, raw);
        EXPECT_FALSE(m.getErrorCode()) << toHex(raw);
    }
    EXPECT_FALSE(Message(MessageClass::ErrorResponse, Method::Binding, kTid).getErrorCode());
}

TEST(StunAttributes, LongErrorReasonIsCutWithoutSplittingACharacter) {
    // 400 two-byte characters: 800 bytes, over the 763-byte limit (RFC 8489 §14.8).
    std::string reason;
    for (int i = 0; i < 400; ++i) reason += "\xc3\xa9";
    Message m(MessageClass::ErrorResponse, Method::Binding, kTid);
    m.addErrorCode(400, reason);
    auto ec = roundTrip(m).getErrorCode();
    ASSERT_TRUE(ec);
    EXPECT_LE(ec->reason.size(), 763u);
    EXPECT_EQ(ec->reason.size() % 2, 0u) << "a UTF-8 sequence was split";
    EXPECT_EQ(ec->reason, reason.substr(0, ec->reason.size()));
}

TEST(StunAttributes, UnknownAttributesRoundTrip) {
    for (const std::vector<uint16_t>& list :
         {std::vector<uint16_t>{}, {0x0030}, {0x0030, 0x7fff, 0x0002}, {1, 2, 3, 4}}) {
        Message m(MessageClass::ErrorResponse, Method::Binding, kTid);
        m.addErrorCode(error::UnknownAttribute, "Unknown Attribute");
        m.addUnknownAttributes(list);
        Message back = roundTrip(m);
        ASSERT_TRUE(back.has(attr::UnknownAttributes));
        EXPECT_EQ(back.getUnknownAttributes(), list);
    }
    EXPECT_TRUE(
        Message(MessageClass::ErrorResponse, Method::Binding, kTid).getUnknownAttributes().empty());
}

TEST(StunAttributes, ChannelNumberRoundTrips) {
    for (uint16_t ch : {0x4000, 0x4001, 0x4abc, 0x4fff}) {
        Message m(MessageClass::Request, Method::ChannelBind, kTid);
        m.addChannelNumber(ch);
        EXPECT_EQ(m.find(attr::ChannelNumber)->value, (Bytes{uint8_t(ch >> 8), uint8_t(ch), 0, 0}));
        EXPECT_EQ(roundTrip(m).getChannelNumber(), ch);
    }
    Message bad(MessageClass::Request, Method::ChannelBind, kTid);
    bad.addRaw(attr::ChannelNumber, Bytes{0x40, 0x00});
    EXPECT_FALSE(bad.getChannelNumber());
}

TEST(StunAttributes, RequestedTransportRoundTrips) {
    Message udp(MessageClass::Request, Method::Allocate, kTid);
    udp.addRequestedTransport();
    EXPECT_EQ(udp.find(attr::RequestedTransport)->value, (Bytes{17, 0, 0, 0}));
    EXPECT_EQ(roundTrip(udp).getRequestedTransport(), 17);
    Message tcp(MessageClass::Request, Method::Allocate, kTid);
    tcp.addRequestedTransport(6);
    EXPECT_EQ(roundTrip(tcp).getRequestedTransport(), 6);
    EXPECT_FALSE(Message(MessageClass::Request, Method::Allocate, kTid).getRequestedTransport());
}

TEST(StunAttributes, PasswordAlgorithmsListRoundTrips) {
    // RFC 8489 §14.11: algorithm (2), parameters length (2), parameters padded to 4.
    // clang-format off
    const Bytes list{
        0x00, 0x02, 0x00, 0x00,                          // SHA-256, no parameters
        0x00, 0x01, 0x00, 0x00,                          // MD5
        0x12, 0x34, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0x00,  // unknown, 3 bytes of parameters + pad
        0x00, 0x02, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,  // 8 bytes of parameters
    };
    // clang-format on
    Message m(MessageClass::ErrorResponse, Method::Allocate, kTid);
    m.addRaw(attr::PasswordAlgorithms, list);
    EXPECT_EQ(roundTrip(m).getPasswordAlgorithms(),
              (std::vector<uint16_t>{0x0002, 0x0001, 0x1234, 0x0002}));

    // An entry whose parameters run past the attribute ends the list.
    Message cut(MessageClass::ErrorResponse, Method::Allocate, kTid);
    cut.addRaw(attr::PasswordAlgorithms, Bytes{0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 1});
    EXPECT_EQ(cut.getPasswordAlgorithms(), (std::vector<uint16_t>{0x0002}));
    EXPECT_TRUE(Message().getPasswordAlgorithms().empty());

    // The number is 16 bits (RFC 8489 §18.5); the fuzzer found the high byte being dropped.
    for (auto alg :
         {PasswordAlgorithm::Md5, PasswordAlgorithm::Sha256, PasswordAlgorithm(0x6f62)}) {
        Message req(MessageClass::Request, Method::Allocate, kTid);
        req.addPasswordAlgorithm(alg);
        EXPECT_EQ(req.find(attr::PasswordAlgorithm)->value,
                  (Bytes{uint8_t(uint16_t(alg) >> 8), uint8_t(alg), 0, 0}));
        EXPECT_EQ(roundTrip(req).getPasswordAlgorithm(), uint16_t(alg));
    }
}

TEST(StunAttributes, IntegersStringsAndFlagsRoundTrip) {
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addU32(attr::Priority, 0xfffffffe);
    m.addU32(attr::Lifetime, 600);
    m.addU64(attr::IceControlling, 0x0123456789abcdefULL);
    m.addU64(attr::ReservationToken, ~0ULL);
    m.addString(attr::Username, "a:b");
    m.addString(attr::Realm, "");
    m.addString(attr::Nonce, std::string(763, 'n'));
    m.addString(attr::Software, "tincan");
    m.addFlag(attr::UseCandidate);
    m.addFlag(attr::DontFragment);
    m.addChangeRequest(true, true);
    Message back = roundTrip(m);
    EXPECT_EQ(back.getU32(attr::Priority), 0xfffffffeu);
    EXPECT_EQ(back.getU32(attr::Lifetime), 600u);
    EXPECT_EQ(back.getU64(attr::IceControlling), 0x0123456789abcdefULL);
    EXPECT_EQ(back.getU64(attr::ReservationToken), ~0ULL);
    EXPECT_EQ(back.getString(attr::Username), "a:b");
    EXPECT_EQ(back.getString(attr::Realm), "");
    EXPECT_EQ(back.getString(attr::Nonce), std::string(763, 'n'));
    EXPECT_EQ(back.getString(attr::Software), "tincan");
    EXPECT_TRUE(back.has(attr::UseCandidate));
    EXPECT_TRUE(back.has(attr::DontFragment));
    EXPECT_FALSE(back.has(attr::IceControlled));
    EXPECT_EQ(back.getU32(attr::ChangeRequest), 6u);  // RFC 5780 §7.2: A=4 (IP), B=2 (port)
    EXPECT_FALSE(back.getString(attr::ErrorCode));
    // Wrong sizes read as nothing.
    EXPECT_FALSE(back.getU32(attr::IceControlling));
    EXPECT_FALSE(back.getU64(attr::Priority));

    for (auto [ip, port, flags] :
         {std::tuple{true, false, 4u}, {false, true, 2u}, {false, false, 0u}}) {
        Message c(MessageClass::Request, Method::Binding, kTid);
        c.addChangeRequest(ip, port);
        EXPECT_EQ(roundTrip(c).getU32(attr::ChangeRequest), flags);
    }
}

TEST(StunAttributes, AttributesKeepTheirOrderAndDuplicates) {
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addString(attr::Software, "first");
    m.addU32(attr::Priority, 1);
    m.addString(attr::Software, "second");
    Message back = roundTrip(m);
    ASSERT_EQ(back.attributes().size(), 3u);
    EXPECT_EQ(back.attributes()[2].type, attr::Software);
    EXPECT_EQ(back.getString(attr::Software), "first");  // the first one counts
}

TEST(StunAttributes, UnknownComprehensionRequiredAreReported) {
    Bytes wire = Raw()
                     .attr(0x0030, 4)          // unknown, comprehension-required
                     .attr(attr::Software, 3)  // known
                     .attr(0x8030, 4)          // unknown, comprehension-optional
                     .attr(0x7fff, 0)          // unknown, comprehension-required
                     .attr(attr::XorMappedAddress, 8)
                     .bytes();
    Message m = mustParse(wire);
    EXPECT_EQ(m.unknownComprehensionRequired(), (std::vector<uint16_t>{0x0030, 0x7fff}));
    EXPECT_TRUE(m.has(0x8030));
    EXPECT_TRUE(attr::isKnown(attr::Fingerprint));
    EXPECT_FALSE(attr::isKnown(0x0030));
    EXPECT_STREQ(attr::name(attr::XorMappedAddress), "XOR-MAPPED-ADDRESS");
}

// --- Integrity ---------------------------------------------------------------------------------

TEST(StunIntegrity, Sha256RoundTrip) {
    const Integrity integrity{longTermKey("user", "realm", "pass", PasswordAlgorithm::Sha256),
                              true};
    for (bool fp : {false, true}) {
        Message m(MessageClass::Request, Method::Allocate, kTid);
        m.addString(attr::Username, "user");
        m.addRequestedTransport();
        Bytes wire = m.encode(&integrity, fp);
        Message back = mustParse(wire);
        EXPECT_EQ(back.hasFingerprint(), fp);
        EXPECT_EQ(back.verifyIntegrity(integrity.key), IntegrityCheck::Ok);
        EXPECT_EQ(
            back.verifyIntegrity(longTermKey("user", "realm", "pas", PasswordAlgorithm::Sha256)),
            IntegrityCheck::Mismatch);
        // The attribute is MESSAGE-INTEGRITY-SHA256, 32 bytes, right before FINGERPRINT if any.
        size_t at = wire.size() - (fp ? 8 : 0) - 36;
        EXPECT_EQ(readU16(&wire[at]), attr::MessageIntegritySha256);
        EXPECT_EQ(readU16(&wire[at + 2]), 32);
        EXPECT_EQ(Bytes(wire.begin() + at + 4, wire.begin() + at + 36),
                  hmacFor(Bytes(wire.begin(), wire.begin() + at), 32, true, integrity.key));
    }
}

TEST(StunIntegrity, Sha1MatchesAnIndependentHmac) {
    const Bytes key = shortTermKey("secret");
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addString(attr::Username, "abc:def");
    const Integrity integrity{key, false};
    Bytes wire = m.encode(&integrity, true);
    size_t at = wire.size() - 8 - 24;
    EXPECT_EQ(readU16(&wire[at]), attr::MessageIntegrity);
    EXPECT_EQ(Bytes(wire.begin() + at + 4, wire.begin() + at + 24),
              hmacFor(Bytes(wire.begin(), wire.begin() + at), 20, false, key));
}

TEST(StunIntegrity, TruncatedSha256IsAccepted) {
    // RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 may be truncated to 16, 20, ... 28 bytes.
    const Bytes key = shortTermKey("pass");
    for (size_t n : {16u, 20u, 24u, 28u, 32u}) {
        Bytes msg = Raw().attr(attr::Username, Bytes{'u', 's', 'e', 'r'}).bytes();
        Bytes wire = appendAttr(msg, attr::MessageIntegritySha256, hmacFor(msg, n, true, key));
        Message m = mustParse(wire);
        EXPECT_EQ(m.verifyIntegrity(key), IntegrityCheck::Ok) << n;
        wire[wire.size() - 1] ^= 1;
        EXPECT_EQ(mustParse(wire).verifyIntegrity(key), IntegrityCheck::Mismatch) << n;
    }
}

TEST(StunIntegrity, Sha256AfterSha1IsPreferred) {
    // RFC 8489 §14.6: MESSAGE-INTEGRITY then MESSAGE-INTEGRITY-SHA256, then FINGERPRINT.
    const Bytes key = shortTermKey("pass");
    Message base(MessageClass::Request, Method::Binding, kTid);
    base.addString(attr::Username, "x:y");
    const Integrity sha1{key, false};
    Bytes withSha1 = base.encode(&sha1);
    Bytes wire =
        appendAttr(withSha1, attr::MessageIntegritySha256, hmacFor(withSha1, 32, true, key));
    EXPECT_EQ(mustParse(wire).verifyIntegrity(key), IntegrityCheck::Ok);

    // The SHA-256 one is what is checked: break only the SHA-1 value (covered by SHA-256) and
    // the message fails; break only the SHA-256 value and it fails too.
    Bytes badSha1 = wire;
    badSha1[withSha1.size() - 1] ^= 1;
    EXPECT_EQ(mustParse(badSha1).verifyIntegrity(key), IntegrityCheck::Mismatch);
    Bytes badSha256 = wire;
    badSha256.back() ^= 1;
    EXPECT_EQ(mustParse(badSha256).verifyIntegrity(key), IntegrityCheck::Mismatch);
}

TEST(StunIntegrity, OneFlippedByteIsAMismatch) {
    const Integrity integrity{shortTermKey("pass"), false};
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addString(attr::Username, "left:right");
    m.addU32(attr::Priority, 0x6e0001ff);
    m.addU64(attr::IceControlling, 42);
    m.addFlag(attr::UseCandidate);
    Bytes wire = m.encode(&integrity);
    ASSERT_EQ(mustParse(wire).verifyIntegrity(integrity.key), IntegrityCheck::Ok);
    const size_t miType = wire.size() - 24;
    int parsed = 0;
    for (size_t i = 0; i < wire.size(); ++i) {
        for (uint8_t bit = 1; bit; bit <<= 1) {
            Bytes altered = wire;
            altered[i] ^= bit;
            auto r = parse(altered);
            if (!r) continue;
            const Message* mm = &*r;
            ++parsed;
            // Renaming MESSAGE-INTEGRITY removes it (Missing); anything else is a Mismatch.
            bool renamed = i == miType || i == miType + 1;
            EXPECT_EQ(mm->verifyIntegrity(integrity.key),
                      renamed ? IntegrityCheck::Missing : IntegrityCheck::Mismatch)
                << "byte " << i << " bit " << int(bit);
        }
    }
    EXPECT_GT(parsed, 300);  // most alterations parse; the integrity check catches them
}

TEST(StunIntegrity, MissingWhenAbsentOrNotParsed) {
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addString(attr::Username, "a");
    EXPECT_EQ(m.verifyIntegrity(shortTermKey("k")), IntegrityCheck::Missing);
    EXPECT_EQ(roundTrip(m).verifyIntegrity(shortTermKey("k")), IntegrityCheck::Missing);
    EXPECT_EQ(roundTrip(m, nullptr, true).verifyIntegrity(shortTermKey("k")),
              IntegrityCheck::Missing);
}

TEST(StunIntegrity, AttributesAfterIntegrityAreIgnored) {
    // RFC 8489 §14.5: only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may follow; the rest is
    // ignored, even if it would be malformed.
    const Integrity integrity{shortTermKey("pass"), false};
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addString(attr::Username, "a:b");
    Bytes signedMsg = m.encode(&integrity);
    Bytes wire = appendAttr(signedMsg, attr::Software, asBytes("injected"));
    wire = appendAttr(wire, attr::Priority, Bytes(8, 0));           // wrong length, ignored
    wire = appendAttr(wire, attr::MessageIntegrity, Bytes(16, 0));  // a second one, malformed
    Message back = mustParse(wire);
    EXPECT_FALSE(back.has(attr::Software));
    EXPECT_FALSE(back.has(attr::Priority));
    EXPECT_EQ(back.verifyIntegrity(integrity.key), IntegrityCheck::Ok);
}

TEST(StunIntegrity, AttributesAfterSha256IntegrityAreIgnored) {
    // RFC 8489 §14.6: after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts, so a stray
    // MESSAGE-INTEGRITY there (even a malformed one) is ignored, not an error.
    const Integrity integrity{shortTermKey("pass"), true};
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addString(attr::Username, "a:b");
    Bytes signedMsg = m.encode(&integrity);
    for (size_t n : {20u, 16u}) {
        Bytes wire = appendAttr(signedMsg, attr::MessageIntegrity, Bytes(n, 0xee));
        wire = appendAttr(wire, attr::MessageIntegritySha256, Bytes(3, 0xee));
        Message back = mustParse(wire);
        EXPECT_EQ(back.verifyIntegrity(integrity.key), IntegrityCheck::Ok) << n;
    }
}

// --- Fingerprint -------------------------------------------------------------------------------

TEST(StunFingerprint, Crc32MatchesTheCheckValue) {
    EXPECT_EQ(crc32(asBytes("123456789")), 0xCBF43926u);  // CRC-32/ISO-HDLC check value
    EXPECT_EQ(crc32({}), 0u);
    Bytes big(1200);
    for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i * 7 + 3);
    EXPECT_EQ(crc32(big), 0xB7CD6E4Du);  // Python zlib.crc32 of the same bytes
}

TEST(StunFingerprint, WrongFingerprintIsRejected) {
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addString(attr::Software, "x");
    Bytes wire = m.encode(nullptr, true);
    ASSERT_TRUE(mustParse(wire).hasFingerprint());
    EXPECT_FALSE(mustParse(m.encode()).hasFingerprint());
    for (size_t i = wire.size() - 4; i < wire.size(); ++i) {
        Bytes bad = wire;
        bad[i] ^= 0x80;
        EXPECT_EQ(rejection(bad), "FINGERPRINT mismatch");
    }
    // The XOR with 0x5354554e is part of it: a plain CRC-32 is wrong.
    Bytes plain = wire;
    writeU32(plain.data() + plain.size() - 4, crc32(ByteView(wire).first(wire.size() - 8)));
    EXPECT_EQ(rejection(plain), "FINGERPRINT mismatch");
}

// --- Rejections --------------------------------------------------------------------------------

TEST(StunParse, RejectsTruncatedHeaders) {
    Bytes header = Raw().bytes();
    for (size_t n : {0u, 1u, 4u, 8u, 19u})
        EXPECT_EQ(rejection(ByteView(header).first(n)), "shorter than a STUN header") << n;
    EXPECT_EQ(rejection(header), "");
}

TEST(StunParse, RejectsBadHeaderFields) {
    EXPECT_EQ(rejection(Raw(0x8001).bytes()), "first two bits are not zero");
    EXPECT_EQ(rejection(Raw(0x4001).bytes()), "first two bits are not zero");
    Bytes noCookie = Raw().bytes();
    noCookie[7] ^= 1;
    EXPECT_EQ(rejection(noCookie), "no magic cookie");
    Bytes rfc3489(20, 0);  // a classic RFC 3489 header, no cookie
    rfc3489[1] = 0x01;
    EXPECT_EQ(rejection(rfc3489), "no magic cookie");
}

TEST(StunParse, RejectsLengthNotMultipleOfFour) {
    for (uint16_t len : {1, 2, 3, 5, 6, 7}) {
        Bytes wire = Raw().bytes(len);
        wire.resize(kHeaderSize + len, 0);
        EXPECT_EQ(rejection(wire), "length is not a multiple of 4") << len;
    }
}

TEST(StunParse, RejectsLengthMismatch) {
    Bytes body = Raw().attr(attr::Software, 4).bytes();  // 8 bytes of body
    EXPECT_EQ(rejection(Raw().attr(attr::Software, 4).bytes(12)),
              "length field 12 does not match 8 bytes of body");
    EXPECT_EQ(rejection(Raw().attr(attr::Software, 4).bytes(4)),
              "length field 4 does not match 8 bytes of body");
    Bytes trailing = body;
    trailing.insert(trailing.end(), 4, 0);  // a datagram with bytes after the message
    EXPECT_NE(rejection(trailing).find("does not match"), std::string::npos);
    EXPECT_EQ(rejection(body), "");
}

TEST(StunParse, RejectsAttributeRunningPastTheEnd) {
    // Declared 16 bytes, 4 present.
    Bytes wire = Raw().attr(attr::Software, Bytes(4, 'x'), 16).bytes();
    EXPECT_EQ(rejection(wire), "attribute SOFTWARE runs past the end of the message");
    // The last attribute declares 1 byte more than the body holds.
    Bytes wire2 = Raw().attr(attr::Username, Bytes(4, 'x')).attr(0x8030, Bytes(4, 'x'), 5).bytes();
    EXPECT_EQ(rejection(wire2), "attribute UNKNOWN runs past the end of the message");
}

TEST(StunParse, RejectsFingerprintNotLast) {
    Bytes wire = Raw().attr(attr::Fingerprint, Bytes(4, 0)).attr(attr::Software, 4).bytes();
    EXPECT_EQ(rejection(wire), "FINGERPRINT is not the last attribute");
    // Even with a correct FINGERPRINT followed by anything at all.
    Bytes fp = Raw().attr(attr::Software, 4).withFingerprint();
    ASSERT_EQ(rejection(fp), "");
    fp = appendAttr(fp, 0x8030, {});
    EXPECT_EQ(rejection(fp), "FINGERPRINT is not the last attribute");
}

TEST(StunParse, RejectsWrongFixedAttributeLengths) {
    struct Case {
        uint16_t type;
        size_t length;
    };
    const Case cases[] = {
        {attr::MappedAddress, 12},    {attr::XorMappedAddress, 4},
        {attr::XorPeerAddress, 16},   {attr::XorRelayedAddress, 24},
        {attr::AlternateServer, 0},   {attr::ResponseOrigin, 9},
        {attr::OtherAddress, 19},     {attr::Priority, 8},
        {attr::Priority, 3},          {attr::Lifetime, 2},
        {attr::ChannelNumber, 8},     {attr::RequestedTransport, 1},
        {attr::ChangeRequest, 0},     {attr::RequestedAddressFamily, 8},
        {attr::ResponsePort, 2},      {attr::IceControlled, 4},
        {attr::IceControlling, 16},   {attr::ReservationToken, 4},
        {attr::UseCandidate, 4},      {attr::DontFragment, 1},
        {attr::ErrorCode, 3},         {attr::ErrorCode, 4 + 764},
        {attr::Username, 514},        {attr::Realm, 764},
        {attr::Nonce, 764},           {attr::Software, 764},
        {attr::UnknownAttributes, 3}, {attr::Userhash, 16},
    };
    for (const auto& c : cases) {
        Bytes wire = Raw().attr(c.type, c.length).bytes();
        EXPECT_EQ(rejection(wire), std::string("attribute ") + attr::name(c.type) +
                                       " has an invalid length " + std::to_string(c.length));
    }
    EXPECT_EQ(rejection(Raw().attr(attr::MessageIntegrity, 16).bytes()),
              "MESSAGE-INTEGRITY has the wrong length");
    EXPECT_EQ(rejection(Raw().attr(attr::MessageIntegrity, 32).bytes()),
              "MESSAGE-INTEGRITY has the wrong length");
    for (size_t n : {0u, 12u, 18u, 36u})
        EXPECT_EQ(rejection(Raw().attr(attr::MessageIntegritySha256, n).bytes()),
                  "MESSAGE-INTEGRITY-SHA256 has the wrong length")
            << n;
    EXPECT_EQ(rejection(Raw().attr(attr::Fingerprint, 8).bytes()),
              "FINGERPRINT has the wrong length");
    // The limits themselves are fine.
    EXPECT_EQ(rejection(Raw().attr(attr::Username, 513).bytes()), "");
    EXPECT_EQ(rejection(Raw().attr(attr::Software, 763).bytes()), "");
    EXPECT_EQ(rejection(Raw().attr(attr::ErrorCode, 4 + 763).bytes()), "");
}

TEST(StunParse, RejectsGarbage) {
    std::mt19937 rng(1234);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes junk(rng() % 200);
        for (auto& b : junk) b = uint8_t(rng());
        auto r = parse(junk);
        if (r) {
            ++accepted;
        } else {
            EXPECT_FALSE(r.error().message.empty());
        }
    }
    EXPECT_EQ(accepted, 0);
    for (const char* text : {"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
                             "\x16\xfe\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x2e\x01\x00\x00"
                             "\x22\x00\x00\x00\x00"})
        EXPECT_FALSE(tryParse(asBytes(text)));
}

TEST(StunParse, RandomBodiesBehindAValidHeaderNeverCrash) {
    // Valid header, random TLV soup: whatever parses must encode and parse again.
    std::mt19937 rng(99);
    int parsed = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes body(4 * (rng() % 16));
        for (auto& b : body) b = uint8_t(rng() % 4 == 0 ? rng() % 48 : rng());
        Bytes wire = Raw(uint16_t(rng() & 0x3fff)).bytes(uint16_t(body.size()));
        appendBytes(wire, body);
        auto m = tryParse(wire);
        if (!m) continue;
        ++parsed;
        ASSERT_TRUE(tryParse(m->encode())) << toHex(wire);
        (void)m->verifyIntegrity(shortTermKey("k"));
    }
    EXPECT_GT(parsed, 100);
}

TEST(StunParse, HeaderOnlyMessageIsValid) {
    Message m = mustParse(Raw(0x0001).bytes());
    EXPECT_TRUE(m.attributes().empty());
    EXPECT_FALSE(m.hasFingerprint());
}

// --- Encode limits -----------------------------------------------------------------------------

TEST(StunEncode, LargestMessageFitsAndLargerIsRefused) {
    // The length field is 16 bits (RFC 8489 §5): the body can hold at most 65532 bytes.
    Message fits(MessageClass::Indication, Method::Data, kTid);
    fits.addRaw(attr::Data, Bytes(65528, 0x5a));
    Bytes wire = fits.encode();
    ASSERT_EQ(wire.size(), kHeaderSize + 65532);
    EXPECT_EQ(readU16(&wire[2]), 65532);
    EXPECT_TRUE(tryParse(wire));

    Message over(MessageClass::Indication, Method::Data, kTid);
    over.addRaw(attr::Data, Bytes(65529, 0x5a));
    EXPECT_TRUE(over.encode().empty());
    const Integrity integrity{shortTermKey("k"), false};
    EXPECT_TRUE(fits.encode(&integrity).empty());  // no room left for MESSAGE-INTEGRITY
    EXPECT_TRUE(fits.encode(nullptr, true).empty());

    Message huge(MessageClass::Indication, Method::Data, kTid);
    huge.addRaw(attr::Data, Bytes(70000, 0));
    EXPECT_TRUE(huge.encode().empty());
}

// --- Demultiplexing and framing ----------------------------------------------------------------

TEST(StunDemux, LooksLikeStunFollowsRfc7983) {
    // RFC 7983 §7: first byte 0-3 STUN, 16-19 ZRTP, 20-63 DTLS, 64-79 TURN ChannelData,
    // 128-191 RTP/RTCP. Every packet below carries the magic cookie at bytes 4-7, so only the
    // first byte decides.
    for (int first = 0; first < 256; ++first) {
        Bytes pkt = Raw().bytes();
        pkt[0] = uint8_t(first);
        EXPECT_EQ(looksLikeStun(pkt), first <= 3) << "first byte " << first;
    }
    EXPECT_TRUE(looksLikeStun(tv::kSampleRequest));
    EXPECT_TRUE(looksLikeStun(tv::kSampleIpv6Response));
}

TEST(StunDemux, OtherProtocolsAreNotStun) {
    // DTLS 1.2 handshake record (content type 22, version fe fd, epoch 0, sequence 0).
    const uint8_t dtls[] = {0x16, 0xfe, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                            0x00, 0x2e, 0x01, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00};
    // A DTLS record that happens to carry the cookie bytes at 4-7 (epoch 0x0021, seq 0x12a442...).
    const uint8_t dtlsCookie[] = {0x17, 0xfe, 0xfd, 0x00, 0x21, 0x12, 0xa4, 0x42,
                                  0x00, 0x00, 0x01, 0x00, 0x10, 0,    0,    0,
                                  0,    0,    0,    0,    0,    0,    0,    0};
    // RTP version 2, PT 96; RTCP SR; TURN ChannelData 0x4001.
    const uint8_t rtp[] = {0x80, 0x60, 0x00, 0x01, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 1,
                           0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0};
    const uint8_t rtcp[] = {0x80, 0xc8, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                            0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t channelData[] = {0x40, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0,
                                   0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0};
    for (ByteView pkt : {ByteView(dtls), ByteView(dtlsCookie), ByteView(rtp), ByteView(rtcp),
                         ByteView(channelData)})
        EXPECT_FALSE(looksLikeStun(pkt)) << toHex(pkt.first(4));

    Bytes shortPkt(tv::kSampleRequest, tv::kSampleRequest + 19);
    EXPECT_FALSE(looksLikeStun(shortPkt));
    Bytes oddLength(std::begin(tv::kSampleRequest), std::end(tv::kSampleRequest));
    oddLength[3] = 0x57;
    EXPECT_FALSE(looksLikeStun(oddLength));
}

TEST(StunFraming, MessageLengthFramesAStream) {
    Bytes stream(std::begin(tv::kSampleRequest), std::end(tv::kSampleRequest));
    stream.insert(stream.end(), std::begin(tv::kSampleIpv4Response),
                  std::end(tv::kSampleIpv4Response));
    // Not a full header yet: no answer.
    for (size_t n = 0; n < kHeaderSize; ++n)
        EXPECT_EQ(messageLength(ByteView(stream).first(n)), std::nullopt) << n;
    EXPECT_EQ(messageLength(ByteView(stream).first(kHeaderSize)), 108u);
    size_t first = *messageLength(stream);
    EXPECT_EQ(first, sizeof tv::kSampleRequest);
    EXPECT_TRUE(tryParse(ByteView(stream).first(first)));
    ByteView rest = ByteView(stream).subspan(first);
    EXPECT_EQ(messageLength(rest), sizeof tv::kSampleIpv4Response);
    EXPECT_TRUE(tryParse(rest.first(*messageLength(rest))));
    EXPECT_EQ(messageLength(Raw().bytes(65532)), kHeaderSize + 65532);
}

// --- Keys --------------------------------------------------------------------------------------

TEST(StunKeys, LongTermKeysMatchKnownValues) {
    // RFC 5389 §15.4's example: MD5("user:realm:pass").
    const Bytes md5{0x84, 0x93, 0xfb, 0xc5, 0x3b, 0xa5, 0x82, 0xfb,
                    0x4c, 0x04, 0x4c, 0x45, 0x6b, 0xdc, 0x40, 0xeb};
    EXPECT_EQ(longTermKey("user", "realm", "pass"), md5);
    EXPECT_EQ(longTermKey("user", "realm", "pass", PasswordAlgorithm::Md5), md5);
    // SHA-256("user:realm:pass") (RFC 8489 §9.2.2), computed independently with Python hashlib.
    const Bytes sha256{0x07, 0xe9, 0x34, 0x11, 0x7a, 0xbd, 0x40, 0x83, 0x6e, 0x7c, 0x63,
                       0x29, 0xb5, 0x47, 0x31, 0xb2, 0xb2, 0xd2, 0xa5, 0xf9, 0xa7, 0x1f,
                       0x54, 0x49, 0x22, 0xd7, 0x5e, 0x07, 0x30, 0xd8, 0x25, 0x1b};
    EXPECT_EQ(longTermKey("user", "realm", "pass", PasswordAlgorithm::Sha256), sha256);
    EXPECT_EQ(
        shortTermKey("VOkJxbRl1RmTxUk/WvJxBt"),
        Bytes(asBytes("VOkJxbRl1RmTxUk/WvJxBt").begin(), asBytes("VOkJxbRl1RmTxUk/WvJxBt").end()));
}
