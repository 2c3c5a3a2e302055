// libFuzzer target for the STUN codec (core/stun/message.cpp).
//
// Any input: parse must return a Message or an Error with a message, never crash. For a
// Message: every typed getter and verifyIntegrity run, and the message is encoded again and
// parsed again, which must succeed with the same header and attributes; encoded with
// MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT, it must also verify. A broken invariant traps.
//
// FINGERPRINT is a CRC the fuzzer cannot guess, so an input that ends in a FINGERPRINT
// attribute is also tried with its CRC corrected, to reach what lies behind that check.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/stun/message.hpp"

using namespace tincan;
using namespace tincan::stun;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

// clang-format off
const uint16_t kTypes[] = {
    attr::MappedAddress, attr::ChangeRequest, attr::Username, attr::MessageIntegrity,
    attr::ErrorCode, attr::UnknownAttributes, attr::ChannelNumber, attr::Lifetime,
    attr::XorPeerAddress, attr::Data, attr::Realm, attr::Nonce, attr::XorRelayedAddress,
    attr::RequestedAddressFamily, attr::EvenPort, attr::RequestedTransport, attr::DontFragment,
    attr::MessageIntegritySha256, attr::PasswordAlgorithm, attr::Userhash, attr::XorMappedAddress,
    attr::ReservationToken, attr::Priority, attr::UseCandidate, attr::Padding, attr::ResponsePort,
    attr::AdditionalAddressFamily, attr::AddressErrorCode, attr::PasswordAlgorithms,
    attr::AlternateDomain, attr::Icmp, attr::Software, attr::AlternateServer,
    attr::TransactionTransmitCounter, attr::Fingerprint, attr::IceControlled, attr::IceControlling,
    attr::ResponseOrigin, attr::OtherAddress,
};
// clang-format on

bool sameContent(const Message& a, const Message& b) {
    if (a.messageClass() != b.messageClass() || a.method() != b.method() ||
        a.transactionId() != b.transactionId() || a.attributes().size() != b.attributes().size())
        return false;
    for (size_t i = 0; i < a.attributes().size(); ++i) {
        if (a.attributes()[i].type != b.attributes()[i].type ||
            a.attributes()[i].value != b.attributes()[i].value)
            return false;
    }
    return true;
}

void exerciseGetters(const Message& m) {
    for (uint16_t t : kTypes) {
        (void)m.find(t);
        (void)m.has(t);
        (void)m.getString(t);
        (void)m.getU32(t);
        (void)m.getU64(t);
        if (auto ep = m.getAddress(t)) (void)ep->toString();
        if (auto ep = m.getXorAddress(t)) (void)ep->toString();
    }
    if (auto ec = m.getErrorCode()) check(ec->code >= 300 && ec->code <= 699);
    (void)m.getUnknownAttributes();
    (void)m.getChannelNumber();
    (void)m.getRequestedTransport();
    (void)m.getPasswordAlgorithms();
    (void)m.getPasswordAlgorithm();
    for (uint16_t t : m.unknownComprehensionRequired())
        check(attr::isComprehensionRequired(t) && !attr::isKnown(t));
    for (const auto& a : m.attributes()) (void)attr::name(a.type);
    (void)toString(m.method());
}

// Every decoded value, written again with the typed setter, reads back the same.
void typedRoundTrip(const Message& m) {
    auto fresh = [&] { return Message(m.messageClass(), m.method(), m.transactionId()); };
    for (uint16_t t : kTypes) {
        if (auto ep = m.getXorAddress(t)) {
            Message x = fresh();
            x.addXorAddress(t, *ep);
            check(x.getXorAddress(t) == ep);
        }
        if (auto ep = m.getAddress(t)) {
            Message x = fresh();
            x.addAddress(t, *ep);
            check(x.getAddress(t) == ep);
        }
    }
    if (auto ec = m.getErrorCode()) {
        Message x = fresh();
        x.addErrorCode(ec->code, ec->reason);
        auto again = x.getErrorCode();
        check(again && again->code == ec->code && again->reason == ec->reason);
    }
    if (m.has(attr::UnknownAttributes)) {
        Message x = fresh();
        x.addUnknownAttributes(m.getUnknownAttributes());
        check(x.getUnknownAttributes() == m.getUnknownAttributes());
    }
    if (auto ch = m.getChannelNumber()) {
        Message x = fresh();
        x.addChannelNumber(*ch);
        check(x.getChannelNumber() == ch);
    }
    if (auto proto = m.getRequestedTransport()) {
        Message x = fresh();
        x.addRequestedTransport(*proto);
        check(x.getRequestedTransport() == proto);
    }
    if (auto alg = m.getPasswordAlgorithm()) {
        Message x = fresh();
        x.addPasswordAlgorithm(PasswordAlgorithm(*alg));
        check(x.getPasswordAlgorithm() == alg);
    }
}

void exerciseIntegrity(const Message& m) {
    const bool hasIntegrity = m.has(attr::MessageIntegrity) || m.has(attr::MessageIntegritySha256);
    check(!hasIntegrity);  // consumed by the parser, never listed
    IntegrityCheck shortTerm = m.verifyIntegrity(shortTermKey("VOkJxbRl1RmTxUk/WvJxBt"));
    (void)m.verifyIntegrity({});
    std::string user = m.getString(attr::Username).value_or("");
    std::string realm = m.getString(attr::Realm).value_or("");
    IntegrityCheck md5 = m.verifyIntegrity(longTermKey(user, realm, "TheMatrIX"));
    IntegrityCheck sha =
        m.verifyIntegrity(longTermKey(user, realm, "TheMatrIX", PasswordAlgorithm::Sha256));
    // Missing is a property of the message, not of the key.
    check((shortTerm == IntegrityCheck::Missing) == (md5 == IntegrityCheck::Missing));
    check((shortTerm == IntegrityCheck::Missing) == (sha == IntegrityCheck::Missing));
}

void reencode(const Message& m) {
    // Plain: always encodable (it is no bigger than what was parsed) and parses back the same.
    Bytes plain = m.encode();
    check(!plain.empty());
    auto again = parse(plain);
    auto* back = again ? &*again : nullptr;
    check(back != nullptr);
    check(sameContent(m, *back));
    check(!back->hasFingerprint());
    check(back->verifyIntegrity({}) == IntegrityCheck::Missing);
    check(messageLength(plain) == plain.size());
    check(back->encode() == plain);  // encoding is a fixed point after one round

    // Signed and fingerprinted: empty only when the result would not fit in a STUN message.
    const Bytes key = shortTermKey("fuzz");
    for (bool sha256 : {false, true}) {
        const Integrity integrity{key, sha256};
        Bytes wire = m.encode(&integrity, true);
        if (wire.empty()) {
            check(plain.size() - kHeaderSize + (sha256 ? 36 : 24) + 8 > 65535);
            continue;
        }
        auto signedParse = parse(wire);
        auto* s = signedParse ? &*signedParse : nullptr;
        check(s != nullptr);
        check(sameContent(m, *s));
        check(s->hasFingerprint());
        check(s->verifyIntegrity(key) == IntegrityCheck::Ok);
        check(s->verifyIntegrity(shortTermKey("fuzz!")) == IntegrityCheck::Mismatch);
    }
}

void run(ByteView in) {
    (void)looksLikeStun(in);
    auto length = messageLength(in);
    auto result = parse(in);
    if (!result) {
        check(!result.error().message.empty());
        return;
    }
    const Message& m = *result;
    check(length && *length == in.size());
    if (in[0] <= 3) check(looksLikeStun(in));
    exerciseGetters(m);
    typedRoundTrip(m);
    exerciseIntegrity(m);
    reencode(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteView in(data, size);
    run(in);
    // Ends in a FINGERPRINT header? Try again with the CRC corrected.
    if (size >= kHeaderSize + 8 && readU16(data + size - 8) == attr::Fingerprint &&
        readU16(data + size - 6) == 4) {
        Bytes fixed(in.begin(), in.end());
        writeU32(fixed.data() + size - 4, crc32(ByteView(fixed).first(size - 8)) ^ 0x5354554e);
        run(fixed);
    }
    return 0;
}
