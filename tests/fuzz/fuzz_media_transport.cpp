// libFuzzer target for the media transport's receive path after SRTP (core/pc/media_transport):
// RTP demultiplexing (SSRC, mid extension, payload type), RTX unwrapping, duplicate detection,
// receive statistics, NACK and transport-wide feedback generation, and the RTCP it acts on
// (reports, NACK → resends from the history, PLI/FIR, REMB, transport feedback into the
// congestion controller and pacer).
//
// The input is a sequence of packets, each [1 byte: time step in ms][2 bytes: length][bytes],
// fed to one transport (video with RTX and NACK, audio beside it) that also sends frames, so that
// NACKs find packets to resend. Nothing may crash, hang or grow without bound.
#include <cstddef>
#include <cstdint>

#include "core/pc/media_transport.hpp"

using namespace tincan;
using namespace tincan::pc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Random random(1);
    MediaTransport t(random, 0);
    Timestamp now = Timestamp{} + 100s;
    MediaConfig config;
    config.midExtensionId = 4;
    config.absSendTimeExtensionId = 2;
    config.transportCcExtensionId = 3;
    config.transportCc = true;
    config.reducedSizeRtcp = size % 2 == 0;
    config.cname = "fuzz";
    MediaSectionConfig video;
    video.mid = "1";
    video.kind = MediaKind::Video;
    video.send = video.recv = true;
    video.codec = {"VP8", 90000, 0, 96, ""};
    video.rtxPayloadType = 97;
    video.localSsrc = 1111;
    video.localRtxSsrc = 1112;
    video.remoteSsrcs = {2222};
    video.remoteRtxToMedia = {{2223, 2222}};
    video.remotePayloadTypes = {96};
    video.remoteRtxPayloadTypes = {{97, 96}};
    video.nack = video.pli = video.fir = true;
    MediaSectionConfig audio;
    audio.mid = "0";
    audio.kind = MediaKind::Audio;
    audio.send = audio.recv = true;
    audio.codec = {"opus", 48000, 2, 111, ""};
    audio.localSsrc = 3333;
    audio.remotePayloadTypes = {111};
    config.sections = {audio, video};
    t.configure(now, config);
    dtls::SrtpKeyingMaterial keys;
    keys.profile = 0x0001;
    keys.clientKey = Bytes(16, 1);
    keys.clientSalt = Bytes(14, 2);
    keys.serverKey = Bytes(16, 3);
    keys.serverSalt = Bytes(14, 4);
    t.handleSrtpKeys(now, keys, dtls::Role::Client);

    size_t pos = 0;
    uint32_t frame = 0;
    while (pos + 3 <= size) {
        now += std::chrono::milliseconds(data[pos]);
        size_t len = size_t(data[pos + 1]) << 8 | data[pos + 2];
        pos += 3;
        len = std::min(len, size - pos);
        t.handlePlaintext(now, Bytes(data + pos, data + pos + len));
        pos += len;
        OutgoingFrame f;
        f.packets.push_back({frame * 3000, true, Bytes(100 + frame % 900, uint8_t(frame))});
        f.keyframe = frame % 30 == 0;
        t.sendFrame(now, "1", std::move(f));
        ++frame;
        if (auto to = t.pollTimeout(); to && *to <= now) t.handleTimeout(now);
        while (t.pollOutgoing()) {
        }
        while (t.pollEvent()) {
        }
    }
    now += 2s;
    t.handleTimeout(now);
    (void)t.sectionStats();
    return 0;
}
