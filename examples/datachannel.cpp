// Two peers in one process: signaling is a function call, the rest is real (ICE, DTLS, SCTP).
#include <cstdio>
#include <future>
#include <tincan/peer_connection.hpp>
int main() {
    std::shared_ptr<tincan::PeerConnection> a, b;
    std::promise<std::string> echoed;
    tincan::PeerConnectionCallbacks ca, cb;
    ca.onIceCandidate = [&](const auto& c) { (void)b->addIceCandidate(c); };  // trickle to b
    cb.onIceCandidate = [&](const auto& c) { (void)a->addIceCandidate(c); };  // and back
    cb.onDataChannel = [](std::shared_ptr<tincan::DataChannel> ch) {          // b echoes
        tincan::DataChannel::Callbacks echo;
        echo.onMessage = [ch](tincan::ByteView d, bool) { ch->send(tincan::asString(d)); };
        ch->setCallbacks(echo);
    };
    a = *tincan::PeerConnection::create({}, ca), b = *tincan::PeerConnection::create({}, cb);
    auto ch = *a->createDataChannel("chat");
    tincan::DataChannel::Callbacks mine;
    mine.onOpen = [ch] { ch->send("hello"); };
    mine.onMessage = [&](tincan::ByteView d, bool) {
        echoed.set_value(std::string(tincan::asString(d)));
    };
    ch->setCallbacks(mine);
    auto offer = *a->createOffer();
    (void)a->setLocalDescription(offer);
    (void)b->setRemoteDescription(offer);
    auto answer = *b->createAnswer();
    (void)b->setLocalDescription(answer);
    (void)a->setRemoteDescription(answer);
    std::printf("%s\n", echoed.get_future().get().c_str());  // "hello", back from b
}
