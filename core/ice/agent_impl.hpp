// Agent's insides, shared by the files that implement them (internal to core/ice):
//   agent.cpp       the public Agent methods, state and events
//   gathering.cpp   host, server-reflexive and relayed candidates; TURN allocations
//   checklist.cpp   pairs, their pacing (Ta), our checks and their answers
//   responder.cpp   the binding responder: answers the peer's checks, learns prflx, triggers
//   nomination.cpp  which pair carries data, and nominating it (controlling side)
//   consent.cpp     consent freshness (RFC 7675)
//   dispatch.cpp    packets and timeouts routed to the above; failure; the next deadline
// A pair's own behaviour (priority, state transitions, counters) is CandidatePair's.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ice/agent.hpp"
#include "core/ice/candidate_pair.hpp"
#include "core/stun/message.hpp"
#include "core/stun/transaction.hpp"
#include "core/turn/turn_client.hpp"

namespace tincan::ice {

inline constexpr size_t kMaxPairs = 100;  // RFC 8445 §6.1.2.5 checklist limit
inline constexpr size_t kMaxRemoteCandidates = 200;
inline constexpr size_t kMaxConsentInFlight = 8;

// RFC 8445 §5.1.1.3: same type, base IP, server and transport -> same foundation.
std::string foundationOf(CandidateType type, const IpAddress& baseIp, const std::string& server,
                         TransportProtocol relayProto);

struct Agent::Impl {
    using Pair = CandidatePair;

    // One ICE session: credentials, candidates and the checklist. A restart (RFC 8445 §9)
    // starts a new one; the old one carries data until the new one selects a pair.
    struct Session {
        Credentials local;
        std::optional<Credentials> remote;
        std::vector<Candidate> locals;   // includes unsignaled peer-reflexive ones
        std::vector<Candidate> remotes;  // includes learned peer-reflexive ones
        std::vector<Pair> pairs;
        std::deque<size_t> triggered;
        bool remoteEndOfCandidates = false;
        std::optional<Timestamp> checksStarted;
        std::optional<Timestamp> nominationDeadline;
        std::optional<Timestamp> nominationStarted;  // the first pair became valid
        std::optional<Timestamp> allFailedSince;
        uint32_t prflxCounter = 0;

        // checklist.cpp
        std::optional<size_t> findPair(size_t li, size_t ri) const;
        std::optional<size_t> bestInState(PairState st) const;
        bool hasPendingChecks() const;
        void unfreeze();
        void unfreezeFoundation(const std::string& foundation);
    };

    struct GatherTx {
        stun::TransactionId tid{};
        Endpoint base;
        StunServerConfig server;
        Bytes request;
        stun::TransactionTimer timer;
        bool done = false;
    };

    struct TurnEntry {
        TurnServerConfig config;
        Endpoint base;  // UDP: the socket; TCP/TLS: {ip, 0}
        std::unique_ptr<turn::TurnClient> client;
        bool done = false;  // allocated or failed
    };

    struct Selected {
        Session* session = nullptr;
        size_t pair = 0;
    };

    struct ConsentTx {
        stun::TransactionId tid{};
        Timestamp sent{};
    };

    AgentConfig config;
    Random& random;
    Role role;
    uint64_t tieBreaker;
    IceState state = IceState::New;
    GatheringState gathering = GatheringState::New;
    std::string failure;

    std::vector<Endpoint> bases;
    bool started = false;
    std::vector<GatherTx> gatherTxs;
    std::vector<TurnEntry> turns;
    std::vector<std::string> turnFailures;

    std::unique_ptr<Session> current;
    std::unique_ptr<Session> previous;  // after a restart, until the new session selects a pair
    std::vector<Candidate> pendingMdns;

    std::optional<Selected> selected;
    std::optional<Timestamp> lastCheckSent;
    std::optional<Timestamp> consentNext;
    std::optional<Timestamp> lastConsent;
    std::deque<ConsentTx> consentTxs;

    std::deque<Packet> transmits;
    std::deque<Event> events;
    std::function<void(ByteView)> dataHandler;

    uint64_t malformed = 0, unauthorized = 0, unknownSource = 0, roleConflicts = 0;

    Impl(AgentConfig c, Random& r);

    // --- state and events (agent.cpp)
    std::unique_ptr<Session> newSession();
    void setState(IceState s);
    void fail(std::string reason);
    void setGathering(GatheringState g);

    // --- gathering: host, server-reflexive and relayed candidates; TURN (gathering.cpp)
    bool policyAllows(const Candidate& c) const;
    void addLocalCandidate(Timestamp now, Candidate c, bool signal);
    Candidate hostCandidate(const Endpoint& base) const;
    void startBase(Timestamp now, const Endpoint& base);
    void startGatherTx(Timestamp now, const Endpoint& base, const StunServerConfig& server);
    void serviceGatherTx(Timestamp now, GatherTx& tx);
    void onGatherResponse(Timestamp now, GatherTx& tx, const stun::Message& msg);
    void addServerReflexive(Timestamp now, const Endpoint& base, const Endpoint& mapped,
                            const std::string& url);
    void updateGathering();
    void flushTurn(size_t index);
    void drainTurn(Timestamp now, size_t index);
    void removeRelayCandidates(size_t turnIndex);
    std::optional<size_t> turnIndexFor(const Candidate& relayLocal);
    void sendFrom(Timestamp now, const Candidate& local, const Endpoint& remote, Bytes data);

    // --- the checklist: pairs, pacing, our checks and their answers (checklist.cpp)
    bool canPair(const Candidate& l, const Candidate& r) const;
    std::optional<size_t> addPair(Timestamp now, Session& s, size_t li, size_t ri);
    void recomputePriorities();
    Bytes buildCheck(Session& s, Pair& p, stun::TransactionId& tidOut, bool useCandidate);
    stun::RetransmitPolicy checkPolicy() const;
    void startCheck(Timestamp now, Session& s, size_t pi);
    void serviceCheck(Timestamp now, Session& s, size_t pi);
    void pairFailed(Timestamp now, Session& s, size_t pi);
    void scheduleChecks(Timestamp now);
    void onCheckResponse(Timestamp now, Session& s, size_t pi, const stun::Message& msg,
                         const Endpoint& local, bool viaRelay, const Endpoint& from);
    void learnLocalPrflx(Session& s, const Pair& p, const Endpoint& mapped);
    void switchRole(Role r);

    // --- the binding responder: the peer's checks (responder.cpp)
    void respond(Timestamp now, const Candidate& local, const Endpoint& to,
                 const stun::Message& resp, const Bytes* key);
    void onRequest(Timestamp now, const stun::Message& req, const Endpoint& localAddr,
                   bool viaRelay, const Endpoint& from);

    // --- selection and nomination (nomination.cpp)
    void updateSelection(Timestamp now);
    bool isCompleted() const;
    void maybeNominate(Timestamp now, Session& s, size_t best);
    void nominate(Timestamp now, Session& s, size_t pi);
    const Candidate& effectiveLocal(const Session& s, const Pair& p) const;
    CandidatePairInfo pairInfo(const Session& s, const Pair& p) const;

    // --- consent freshness, RFC 7675 (consent.cpp)
    Duration jitteredConsentInterval();
    void sendConsent(Timestamp now);
    void consentOk(Timestamp now);
    void serviceConsent(Timestamp now);
    bool onConsentResponse(Timestamp now, const stun::Message& msg);

    // --- packet dispatch, timeouts and failure (dispatch.cpp)
    void evaluateFailure(Timestamp now);
    void onDatagram(Timestamp now, const Endpoint& local, bool viaRelay, const Endpoint& from,
                    ByteView data);
    Pair* findPairForData(const Endpoint& local, bool viaRelay, const Endpoint& from);
    void onResponse(Timestamp now, const stun::Message& msg, const Endpoint& local, bool viaRelay,
                    const Endpoint& from);
    std::optional<size_t> turnForPacket(const PacketView& pkt) const;
    bool isOurTransaction(const stun::TransactionId& tid) const;
    void handlePacket(Timestamp now, const PacketView& pkt);
    bool anyTurnBusy() const;
    void handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                           const Endpoint& remote, StreamState st);
    void afterInput(Timestamp now);
    void handleTimeout(Timestamp now);
    std::optional<Timestamp> pollTimeout() const;
};

}  // namespace tincan::ice
