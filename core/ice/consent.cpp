// Consent freshness (RFC 7675): a check on the selected pair every 5 s ± 20 %, `disconnected`
// after a silence, and failure when consent expires or the peer revokes it.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ice/agent_impl.hpp"

namespace tincan::ice {

Duration Agent::Impl::jitteredConsentInterval() {
    Duration base = state == IceState::Disconnected ? std::min<Duration>(1s, config.consentInterval)
                                                    : config.consentInterval;
    return random.between(base * 4 / 5, base * 6 / 5);
}

void Agent::Impl::sendConsent(Timestamp now) {
    Session& s = *selected->session;
    Pair& p = s.pairs[selected->pair];
    if (!s.remote) return;
    stun::TransactionId tid;
    Bytes req = buildCheck(s, p, tid, false);
    consentTxs.push_back(ConsentTx{tid, now});
    while (consentTxs.size() > kMaxConsentInFlight) consentTxs.pop_front();
    p.stats.consentRequestsSent++;
    p.noteRequestSent(now);
    Candidate l = s.locals[p.local];
    sendFrom(now, l, s.remotes[p.remote].address, std::move(req));
}

void Agent::Impl::consentOk(Timestamp now) {
    lastConsent = now;
    if (state == IceState::Disconnected) {
        setState(isCompleted() ? IceState::Completed : IceState::Connected);
    }
}

void Agent::Impl::serviceConsent(Timestamp now) {
    if (!selected || !consentNext || now < *consentNext) return;
    if (lastConsent && now - *lastConsent >= config.consentTimeout) {
        fail(fmt::format(
            "consent lost: no answer from the peer for {} s",
            std::chrono::duration_cast<std::chrono::seconds>(config.consentTimeout).count()));
        return;
    }
    if (lastConsent && now - *lastConsent >= config.disconnectedTimeout)
        setState(IceState::Disconnected);
    sendConsent(now);
    consentNext = now + jitteredConsentInterval();
    if (lastConsent) {
        // Wake up exactly when the state must change.
        for (Duration limit : {config.disconnectedTimeout, config.consentTimeout}) {
            Timestamp at = *lastConsent + limit;
            if (at > now && at < *consentNext) consentNext = at;
        }
    }
}

bool Agent::Impl::onConsentResponse(Timestamp now, const stun::Message& msg) {
    auto it = std::find_if(consentTxs.begin(), consentTxs.end(),
                           [&](const ConsentTx& t) { return t.tid == msg.transactionId(); });
    if (it == consentTxs.end()) return false;
    Timestamp sent = it->sent;
    consentTxs.erase(it);
    if (!selected) return true;
    Session& s = *selected->session;
    Pair& p = s.pairs[selected->pair];
    if (!s.remote ||
        msg.verifyIntegrity(stun::shortTermKey(s.remote->pwd)) != stun::IntegrityCheck::Ok) {
        unauthorized++;
        return true;
    }
    p.noteResponseReceived(now);
    if (msg.isSuccess()) {
        p.noteRtt(now - sent);
        consentOk(now);
    } else if (auto err = msg.getErrorCode(); err && err->code != stun::error::RoleConflict) {
        // RFC 7675 §5.1: an error revokes consent at once.
        fail(fmt::format("consent revoked by the peer ({} {})", err->code, err->reason));
    }
    return true;
}

}  // namespace tincan::ice
