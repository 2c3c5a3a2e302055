// STUN binding queries and NAT behaviour discovery (RFC 5780 §4.3, §4.4), sans-IO.
//
// Plain mode sends one Binding request and reports the mapped address. Behaviour mode runs the
// mapping tests (to the server's primary address, then to its alternate IP, then alternate IP
// and port) and the filtering tests (asking the server, with CHANGE-REQUEST, to answer from
// another IP and port, then another port only), and names the result the way users know it.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "core/common/random.hpp"
#include "core/common/sansio.hpp"
#include "core/stun/message.hpp"
#include "core/stun/transaction.hpp"

namespace tincan::stun {

enum class NatMapping : uint8_t {
    Unknown = 1,
    None,  // the mapped address is our own: no NAT
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent,
};
enum class NatFiltering : uint8_t {
    Unknown = 1,
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent,
};
const char* toString(NatMapping m);    // "endpoint-independent", ...
const char* toString(NatFiltering f);  // "endpoint-independent", ...

struct NatReport {
    std::optional<Endpoint> mapped;        // from test I
    std::optional<Endpoint> otherAddress;  // the server's alternate address, if it has one
    std::optional<Endpoint> responseOrigin;
    NatMapping mapping = NatMapping::Unknown;
    NatFiltering filtering = NatFiltering::Unknown;
    Duration rtt{};
    std::string error;  // set when the query failed

    // "full cone", "restricted cone", "port-restricted cone", "symmetric", "no NAT", or
    // "unknown" when the server could not run the tests.
    std::string natType() const;
};

class NatDiscovery final : public SansIoMachine {
public:
    NatDiscovery(Endpoint server, bool behaviorTests, Random& random, RetransmitPolicy policy = {});

    // `local` is the bound UDP socket to send from.
    void start(Timestamp now, const Endpoint& local);
    bool done() const { return done_; }
    const NatReport& report() const { return report_; }

    void handlePacket(Timestamp now, const PacketView& packet) override;
    void handleTimeout(Timestamp now) override;
    std::optional<Packet> pollTransmit() override;
    std::optional<Timestamp> pollTimeout() override;

private:
    enum class Step : uint8_t {
        Idle = 1,
        MappingI,      // primary address
        MappingII,     // alternate IP, primary port
        MappingIII,    // alternate IP and port
        FilteringII,   // change IP and port
        FilteringIII,  // change port
        Done,
    };
    void send(Timestamp now, Step step, const Endpoint& to, bool changeIp, bool changePort);
    void onAnswer(Timestamp now, const Message& msg);
    void onTimeout(Timestamp now);
    void finish(std::string error = {});

    Endpoint local_;
    Endpoint server_;
    bool behavior_;
    Random& random_;
    RetransmitPolicy policy_;
    Step step_ = Step::Idle;
    TransactionId tid_{};
    Bytes request_;
    Endpoint to_;
    std::optional<TransactionTimer> timer_;
    Timestamp sentAt_{};
    std::optional<Endpoint> mappedII_;
    bool done_ = false;
    NatReport report_;
    std::deque<Packet> out_;
};

}  // namespace tincan::stun
