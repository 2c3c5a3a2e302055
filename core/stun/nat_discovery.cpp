#include "core/stun/nat_discovery.hpp"

namespace tincan::stun {

const char* toString(NatMapping m) {
    switch (m) {
        case NatMapping::Unknown:
            return "unknown";
        case NatMapping::None:
            return "none (no NAT)";
        case NatMapping::EndpointIndependent:
            return "endpoint-independent";
        case NatMapping::AddressDependent:
            return "address-dependent";
        case NatMapping::AddressAndPortDependent:
            return "address-and-port-dependent";
    }
    return "?";
}

const char* toString(NatFiltering f) {
    switch (f) {
        case NatFiltering::Unknown:
            return "unknown";
        case NatFiltering::EndpointIndependent:
            return "endpoint-independent";
        case NatFiltering::AddressDependent:
            return "address-dependent";
        case NatFiltering::AddressAndPortDependent:
            return "address-and-port-dependent";
    }
    return "?";
}

std::string NatReport::natType() const {
    switch (mapping) {
        case NatMapping::Unknown:
            return "unknown";
        case NatMapping::None:
            return filtering == NatFiltering::EndpointIndependent ? "no NAT (open)"
                                                                  : "no NAT (firewalled)";
        case NatMapping::AddressDependent:
        case NatMapping::AddressAndPortDependent:
            return "symmetric";
        case NatMapping::EndpointIndependent:
            break;
    }
    switch (filtering) {
        case NatFiltering::EndpointIndependent:
            return "full cone";
        case NatFiltering::AddressDependent:
            return "restricted cone";
        case NatFiltering::AddressAndPortDependent:
            return "port-restricted cone";
        case NatFiltering::Unknown:
            return "unknown";
    }
    return "unknown";
}

NatDiscovery::NatDiscovery(Endpoint server, bool behaviorTests, Random& random,
                           RetransmitPolicy policy)
    : server_(server), behavior_(behaviorTests), random_(random), policy_(policy) {}

void NatDiscovery::start(Timestamp now, const Endpoint& local) {
    if (step_ != Step::Idle) return;
    local_ = local;
    send(now, Step::MappingI, server_, false, false);
}

void NatDiscovery::send(Timestamp now, Step step, const Endpoint& to, bool changeIp,
                        bool changePort) {
    step_ = step;
    to_ = to;
    auto msg = Message::request(Method::Binding, random_);
    tid_ = msg.transactionId();
    msg.addString(attr::Software, "tincan");
    if (changeIp || changePort) msg.addChangeRequest(changeIp, changePort);
    request_ = msg.encode(nullptr, true);
    // Filtering tests expect silence when the NAT filters: don't wait the full 39.5 s.
    RetransmitPolicy pol = policy_;
    if (step == Step::FilteringII || step == Step::FilteringIII)
        pol.rc = std::min(pol.rc, 3), pol.rm = 4;
    timer_.emplace(pol, now);
    handleTimeout(now);
}

void NatDiscovery::handleTimeout(Timestamp now) {
    if (!timer_ || done_) return;
    switch (timer_->poll(now)) {
        case TransactionTimer::Action::Send:
            if (timer_->sends() == 1) sentAt_ = now;
            out_.push_back(Packet{TransportProtocol::Udp, local_, to_, request_});
            break;
        case TransactionTimer::Action::TimedOut:
            timer_.reset();
            onTimeout(now);
            break;
        case TransactionTimer::Action::None:
            break;
    }
}

void NatDiscovery::handlePacket(Timestamp now, const PacketView& packet) {
    if (done_ || !timer_ || packet.protocol != TransportProtocol::Udp) return;
    auto msg = tryParse(packet.data);
    if (!msg || !msg->isResponse() || msg->transactionId() != tid_) return;
    timer_.reset();
    if (msg->isError()) {
        auto err = msg->getErrorCode();
        if (step_ == Step::MappingI) {
            finish("STUN server answered with error " +
                   (err ? std::to_string(err->code) + " " + err->reason : "?"));
            return;
        }
        onTimeout(now);  // a server that refuses CHANGE-REQUEST: same as no answer
        return;
    }
    onAnswer(now, *msg);
}

void NatDiscovery::onAnswer(Timestamp now, const Message& msg) {
    auto mapped = msg.getXorAddress(attr::XorMappedAddress);
    if (!mapped) mapped = msg.getAddress(attr::MappedAddress);
    switch (step_) {
        case Step::MappingI:
            if (!mapped) return finish("STUN answer without a mapped address");
            report_.mapped = mapped;
            report_.rtt = now - sentAt_;
            report_.otherAddress = msg.getAddress(attr::OtherAddress);
            report_.responseOrigin = msg.getAddress(attr::ResponseOrigin);
            if (!behavior_) return finish();
            if (!report_.otherAddress)
                return finish(
                    "the STUN server has no alternate address (no OTHER-ADDRESS): it cannot "
                    "run RFC 5780 behaviour tests");
            if (*mapped == local_) {
                report_.mapping = NatMapping::None;
                return send(now, Step::FilteringII, server_, true, true);
            }
            return send(now, Step::MappingII, Endpoint{report_.otherAddress->ip, server_.port},
                        false, false);
        case Step::MappingII:
            if (!mapped) return finish("STUN answer without a mapped address");
            mappedII_ = mapped;
            if (*mapped == *report_.mapped) {
                report_.mapping = NatMapping::EndpointIndependent;
                return send(now, Step::FilteringII, server_, true, true);
            }
            return send(now, Step::MappingIII, *report_.otherAddress, false, false);
        case Step::MappingIII:
            if (!mapped) return finish("STUN answer without a mapped address");
            report_.mapping = *mapped == *mappedII_ ? NatMapping::AddressDependent
                                                    : NatMapping::AddressAndPortDependent;
            return send(now, Step::FilteringII, server_, true, true);
        case Step::FilteringII:
            report_.filtering = NatFiltering::EndpointIndependent;
            return finish();
        case Step::FilteringIII:
            report_.filtering = NatFiltering::AddressDependent;
            return finish();
        default:
            return;
    }
}

void NatDiscovery::onTimeout(Timestamp now) {
    switch (step_) {
        case Step::MappingI:
            return finish("no answer from the STUN server " + server_.toString());
        case Step::MappingII:
        case Step::MappingIII:
            return finish("no answer from the STUN server's alternate address");
        case Step::FilteringII:
            return send(now, Step::FilteringIII, server_, false, true);
        case Step::FilteringIII:
            report_.filtering = NatFiltering::AddressAndPortDependent;
            return finish();
        default:
            return;
    }
}

void NatDiscovery::finish(std::string error) {
    report_.error = std::move(error);
    step_ = Step::Done;
    done_ = true;
    timer_.reset();
}

std::optional<Packet> NatDiscovery::pollTransmit() {
    if (out_.empty()) return std::nullopt;
    Packet p = std::move(out_.front());
    out_.pop_front();
    return p;
}

std::optional<Timestamp> NatDiscovery::pollTimeout() {
    if (!timer_ || done_) return std::nullopt;
    return timer_->deadline();
}

}  // namespace tincan::stun
