// tincan-cli call (../shared/CLI.md): sends the chosen sources (the test pattern or the camera
// as VP8, a tone or the microphone as Opus) on one video and one audio track, decodes what the
// peer sends, optionally records it (video.y4m, audio.wav), prints a stats line every second,
// and at the end checks that media came in on every direction the peer sends on.
#include <QCoreApplication>
#include <QTimer>

#include <filesystem>
#include <mutex>

#include <spdlog/spdlog.h>

#include "app/cli/commands.hpp"
#include "app/cli/events.hpp"
#include "app/cli/peer_session.hpp"
#include "media/call/audio_receive_stream.hpp"
#include "media/call/audio_send_stream.hpp"
#include "media/call/lip_sync.hpp"
#include "media/call/track_binding.hpp"
#include "media/call/video_receive_stream.hpp"
#include "media/call/video_send_stream.hpp"
#include "media/capture_qt/qt_camera_source.hpp"
#include "transfer/disk.hpp"

namespace tincan::cli {

namespace {

using namespace tincan::media;
using SteadyClock = std::chrono::steady_clock;

bool peerSends(const std::optional<Direction>& d) {
    return d && (*d == Direction::SendRecv || *d == Direction::RecvOnly);
}

std::string resolution(uint32_t w, uint32_t h) {
    return w && h ? std::to_string(w) + "x" + std::to_string(h) : "";
}

// Everything the call holds; callbacks from the network thread reach it under `mutex`.
struct Call {
    CallOptions options;
    std::shared_ptr<VideoSendStream> videoSend;
    std::shared_ptr<VideoReceiveStream> videoReceive;
    std::shared_ptr<AudioSendStream> audioSend;
    std::shared_ptr<AudioReceiveStream> audioReceive;
    std::unique_ptr<QtCameraSource> camera;
    std::shared_ptr<LipSync> lipSync;

    std::mutex mutex;
    std::shared_ptr<Track> videoTrack, audioTrack;     // ours (addTrack)
    std::vector<std::shared_ptr<Track>> remoteTracks;  // onTrack
    bool stopped = false;

    // For the per-second bitrates.
    SteadyClock::time_point lastTick = SteadyClock::now();
    uint64_t videoSentBytes = 0, videoReceivedBytes = 0, audioSentBytes = 0, audioReceivedBytes = 0;

    void stopStreams() {
        {
            std::lock_guard lock(mutex);
            if (stopped) return;
            stopped = true;
        }
        if (videoSend) videoSend->stop();
        if (audioSend) audioSend->stop();
        if (videoReceive) videoReceive->stop();
        if (audioReceive) audioReceive->stop();
    }

    // Did the peer negotiate sending `kind`? (Seen from our track: sendrecv or recvonly.)
    // The peer's Sender Report clock for a kind, from whichever track hears it.
    std::optional<RemoteSenderClock> senderClock(MediaKind kind) {
        std::lock_guard lock(mutex);
        const auto& ours = kind == MediaKind::Video ? videoTrack : audioTrack;
        if (ours)
            if (auto c = ours->remoteSenderClock()) return c;
        for (const auto& t : remoteTracks)
            if (t->kind() == kind)
                if (auto c = t->remoteSenderClock()) return c;
        return std::nullopt;
    }

    bool peerSendsKind(MediaKind kind) {
        std::lock_guard lock(mutex);
        for (const auto& t : remoteTracks)
            if (t->kind() == kind && peerSends(t->currentDirection())) return true;
        const auto& ours = kind == MediaKind::Video ? videoTrack : audioTrack;
        return ours && peerSends(ours->currentDirection());
    }
};

nlohmann::json statsLine(Call& call, PeerConnection& pc) {
    const auto now = SteadyClock::now();
    const double dt = std::max(1e-3, std::chrono::duration<double>(now - call.lastTick).count());
    call.lastTick = now;
    auto kbps = [dt](uint64_t bytes, uint64_t& last) {
        const double v = double(bytes - last) * 8 / dt / 1000;
        last = bytes;
        return std::round(v * 10) / 10;
    };
    Json ev = {{"event", "stats"}};
    Json video = Json::object(), audio = Json::object();
    if (call.videoSend) {
        const auto s = call.videoSend->stats();
        video["send_kbps"] = kbps(s.bytesSent, call.videoSentBytes);
        video["frames_sent"] = s.framesSent;
        video["send_fps"] = s.fps;
        video["send_resolution"] = resolution(uint32_t(s.width), uint32_t(s.height));
        video["keyframes_sent"] = s.keyFramesEncoded;
        video["target_kbps"] = s.targetBitrateBps / 1000.0;
    }
    {
        const auto r = call.videoReceive->stats();
        video["recv_kbps"] = kbps(r.bytesReceived, call.videoReceivedBytes);
        video["frames_decoded"] = r.media.framesDecoded;
        video["recv_fps"] = std::round(r.media.framesPerSecond * 10) / 10;
        video["recv_resolution"] = resolution(r.media.frameWidth, r.media.frameHeight);
        video["packets_given_up"] = r.packetsLost;
        video["freeze_count"] = r.media.freezeCount;  // W3C: gaps > max(3×avg, avg+150 ms)
        video["freezes_over_500ms"] = r.longFreezeCount;
        video["keyframe_requests"] = r.keyframeRequestsSent;
        if (r.latencySamples > 0) {
            video["latency_p50_ms"] = std::round(r.latencyP50Ms * 10) / 10;
            video["latency_p95_ms"] = std::round(r.latencyP95Ms * 10) / 10;
        }
        if (r.patternFramesRead > 0) video["pattern_counter"] = r.lastCounter;
    }
    if (call.audioSend) {
        const auto s = call.audioSend->stats();
        audio["send_kbps"] = kbps(s.bytesSent, call.audioSentBytes);
        audio["packets_sent"] = s.packetsSent;
    }
    {
        const auto r = call.audioReceive->stats();
        audio["recv_kbps"] = kbps(r.bytesReceived, call.audioReceivedBytes);
        audio["packets_received"] = r.packetsReceived;
        audio["concealed_samples"] = r.media.concealedSamples;
        audio["jitter_buffer_ms"] = r.currentDelayMs;
        if (r.framesAnalysed > 0) {
            audio["tone_hz"] = std::round(r.estimatedFrequencyHz * 10) / 10;
            audio["level_dbfs"] = std::round(r.levelDbfs * 10) / 10;
        }
    }
    // From the RTP layer (getStats): jitter and loss as measured each way, the controller's target.
    const StatsReport report = pc.getStats();
    double targetBps = 0;
    std::optional<double> rttSeconds;
    for (const auto& in : report.inboundRtp) {
        Json& j = in.kind == "video" ? video : audio;
        j["jitter_ms"] = std::round(in.jitter * 10000) / 10;
        j["packets_lost"] = in.packetsLost;
        j["packets_received_rtp"] = in.packetsReceived;
    }
    for (const auto& out : report.outboundRtp) targetBps += out.targetBitrate;
    for (const auto& ri : report.remoteInboundRtp) {
        Json& j = ri.kind == "video" ? video : audio;
        j["remote_loss_pct"] = std::round(ri.fractionLost * 1000) / 10;
        j["remote_jitter_ms"] = std::round(ri.jitter * 10000) / 10;
        if (ri.roundTripTime) rttSeconds = ri.roundTripTime;
    }
    ev["video"] = video;
    ev["audio"] = audio;
    if (const auto* pair = report.selectedPair(); pair && pair->currentRoundTripTime)
        rttSeconds = pair->currentRoundTripTime;
    if (rttSeconds) ev["rtt_ms"] = std::round(*rttSeconds * 10000) / 10;
    if (targetBps > 0) ev["target_kbps"] = std::round(targetBps / 100) / 10;
    if (call.lipSync) {
        const auto s = call.lipSync->stats();
        if (s.updates > 0) {
            const auto d = call.lipSync->delays();
            ev["av_sync"] = {{"offset_ms", std::round(s.lastDifferenceMs * 10) / 10},
                             {"video_delay_ms", d.videoExtraDelayMs},
                             {"audio_delay_ms", d.audioExtraDelayMs}};
        }
    }
    return ev;
}

Json finalStats(Call& call) {
    Json out = Json::array();
    const auto v = call.videoReceive->stats();
    out.push_back({{"id", "MV-in"},
                   {"type", "tincan-video-receive"},
                   {"framesDecoded", v.media.framesDecoded},
                   {"keyFramesDecoded", v.media.keyFramesDecoded},
                   {"framesDropped", v.media.framesDropped},
                   {"frameWidth", v.media.frameWidth},
                   {"frameHeight", v.media.frameHeight},
                   {"freezeCount", v.media.freezeCount},
                   {"freezesOver500ms", v.longFreezeCount},
                   {"totalFreezesDuration", v.media.totalFreezesDuration},
                   {"jitterBufferDelay", v.media.jitterBufferDelay},
                   {"jitterBufferEmittedCount", v.media.jitterBufferEmittedCount},
                   {"totalDecodeTime", v.media.totalDecodeTime},
                   {"packetsReceived", v.packetsReceived},
                   {"packetsLost", v.packetsLost},
                   {"keyframeRequestsSent", v.keyframeRequestsSent},
                   {"patternFramesRead", v.patternFramesRead},
                   {"framesInOrder", v.framesInOrder},
                   {"framesOutOfOrder", v.framesOutOfOrder},
                   {"latencyP50Ms", v.latencyP50Ms},
                   {"latencyP95Ms", v.latencyP95Ms},
                   {"framesRecorded", v.framesRecorded},
                   {"syncDelayMs", v.syncDelayMs}});
    const auto a = call.audioReceive->stats();
    out.push_back({{"id", "MA-in"},
                   {"type", "tincan-audio-receive"},
                   {"packetsReceived", a.packetsReceived},
                   {"totalSamplesReceived", a.media.totalSamplesReceived},
                   {"concealedSamples", a.media.concealedSamples},
                   {"concealmentEvents", a.media.concealmentEvents},
                   {"fecRecoveredPackets", a.fecRecoveredPackets},
                   {"dtxSamples", a.dtxSamples},
                   {"syncDelayMs", a.syncDelayMs},
                   {"estimatedFrequencyHz", a.estimatedFrequencyHz},
                   {"toneFrames", a.toneFrames},
                   {"framesAnalysed", a.framesAnalysed},
                   {"samplesRecorded", a.samplesRecorded}});
    if (call.videoSend) {
        const auto s = call.videoSend->stats();
        out.push_back({{"id", "MV-out"},
                       {"type", "tincan-video-send"},
                       {"framesEncoded", s.framesEncoded},
                       {"keyFramesEncoded", s.keyFramesEncoded},
                       {"framesSent", s.framesSent},
                       {"framesRefused", s.framesRefused},
                       {"bytesSent", s.bytesSent},
                       {"keyframeRequests", s.keyframeRequests},
                       {"totalEncodeTime", s.totalEncodeTimeSeconds},
                       {"sourceErrors", s.sourceErrors},
                       {"targetBitrate", s.targetBitrateBps}});
    }
    if (call.audioSend) {
        const auto s = call.audioSend->stats();
        out.push_back({{"id", "MA-out"},
                       {"type", "tincan-audio-send"},
                       {"packetsSent", s.packetsSent},
                       {"packetsRefused", s.packetsRefused},
                       {"bytesSent", s.bytesSent},
                       {"dtxPacketsSuppressed", s.dtxSuppressed},
                       {"dtx", s.dtx}});
    }
    return out;
}

// The one-line reason the call failed, or empty when media came in on every direction the peer
// sends on.
std::string checkMediaFlowed(Call& call, bool connected) {
    if (!connected) return "the call never connected";
    std::string missing;
    if (call.peerSendsKind(MediaKind::Video) && call.videoReceive->stats().media.framesDecoded == 0)
        missing = "no video frame decoded from the peer (it negotiated sending VP8)";
    if (call.peerSendsKind(MediaKind::Audio) && call.audioReceive->stats().packetsReceived == 0)
        missing += std::string(missing.empty() ? "" : "; ") +
                   "no audio received from the peer (it negotiated sending Opus)";
    if (call.videoSend && call.videoSend->stats().framesSent == 0 && call.videoTrack &&
        call.videoTrack->sending())
        missing += std::string(missing.empty() ? "" : "; ") + "no video frame went out to the peer";
    if (call.audioSend && call.audioSend->stats().packetsSent == 0 && call.audioTrack &&
        call.audioTrack->sending())
        missing += std::string(missing.empty() ? "" : "; ") + "no audio went out to the peer";
    return missing;
}

}  // namespace

int runCall(int argc, char** argv, const CommonOptions& common, const CallOptions& options) {
    QCoreApplication app(argc, argv);
    Call call;
    call.options = options;
    std::string error;

    std::string videoPath, audioPath;
    if (!options.recordDir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(options.recordDir, ec);
        if (auto writable = transfer::checkWritableDirectory(options.recordDir); !writable) {
            printError("--record " + options.recordDir + ": " + writable.message());
            return 2;
        }
        videoPath = (std::filesystem::path(options.recordDir) / "video.y4m").string();
        audioPath = (std::filesystem::path(options.recordDir) / "audio.wav").string();
    }

    VideoReceiveConfig vrc;
    vrc.recordPath = videoPath;
    vrc.recordFps = options.fps;
    // One size for the whole file: ours (the peer usually runs with the same options), whatever
    // size the peer's adaptation sends at the moment.
    vrc.recordWidth = options.width;
    vrc.recordHeight = options.height;
    call.videoReceive = std::make_shared<VideoReceiveStream>(vrc);
    AudioReceiveConfig arc;
    arc.recordPath = audioPath;
    arc.probeFrequencyHz = options.toneHz;
    call.audioReceive = std::make_shared<AudioReceiveStream>(arc);
    if (!call.videoReceive->start(error) || !call.audioReceive->start(error)) {
        printError("cannot record: " + error);
        return 1;
    }

    if (options.video != "none") {
        VideoSendConfig vsc;
        vsc.width = options.width;
        vsc.height = options.height;
        vsc.fps = options.fps;
        vsc.adapt = options.degradation != "maintain-resolution";
        call.videoSend = std::make_shared<VideoSendStream>(vsc, nullptr);
        bool started = false;
        if (options.video == "camera") {
            CameraRequest req;
            req.width = options.width;
            req.height = options.height;
            req.fps = options.fps;
            call.camera = std::make_unique<QtCameraSource>(req);
            // Unplugged mid-call: the stream stops sending video (the camera is stopped here, on
            // the Qt thread, at the end) and the call goes on with audio; one event says so.
            call.videoSend->setSourceErrorHook([](const std::string& reason, bool fellBack) {
                spdlog::warn("{}: the call goes on without the camera", reason);
                events().print({{"event", "media-error"},
                                {"kind", "video"},
                                {"reason", reason},
                                {"fallback", fellBack ? "test-pattern" : "none"}});
            });
            started = call.videoSend->startSource(*call.camera, error);
        } else {
            started = call.videoSend->startTestPattern(error);
        }
        if (!started) {
            if (options.video != "camera") {
                printError("--video test: " + error);
                return 2;
            }
            // CLI.md: no camera is not fatal; the call goes on receiving video only.
            spdlog::warn("{}: the call goes on without sending video", error);
            events().print({{"event", "warning"}, {"source", "camera"}, {"message", error}});
            call.videoSend.reset();
            call.camera.reset();
        }
    }
    if (options.audio != "none") {
        AudioSendConfig asc;
        asc.source = options.audio == "mic" ? AudioSourceKind::Microphone : AudioSourceKind::Tone;
        asc.toneFrequencyHz = options.toneHz;
        call.audioSend = std::make_shared<AudioSendStream>(asc, nullptr);
        if (!call.audioSend->start(error)) {
            spdlog::warn("{}: the call goes on without sending audio", error);
            events().print({{"event", "warning"}, {"source", "microphone"}, {"message", error}});
            call.audioSend.reset();
        }
    }

    call.lipSync = std::make_shared<LipSync>(call.audioReceive, call.videoReceive);

    PeerSession* self = nullptr;
    PeerSession::Hooks hooks;
    auto end = [&] {
        if (self->finished()) return;
        call.stopStreams();
        const std::string why = checkMediaFlowed(call, self->everConnected());
        self->finish(why.empty() ? 0 : 1, why);
    };
    hooks.beforeNegotiation = [&](PeerConnection& pc) {
        // Both kinds always: a side that sends nothing still offers to receive (recvonly).
        for (MediaKind kind : {MediaKind::Video, MediaKind::Audio}) {
            const bool sends =
                kind == MediaKind::Video ? bool(call.videoSend) : bool(call.audioSend);
            TrackInit init;
            init.direction = sends ? Direction::SendRecv : Direction::RecvOnly;
            auto track = pc.addTrack(kind, init);
            if (!track) {
                printError(std::string("cannot add the ") + toString(kind) +
                           " track: " + track.message());
                return false;
            }
            std::lock_guard lock(call.mutex);
            (kind == MediaKind::Video ? call.videoTrack : call.audioTrack) = *track;
            bindTrack(*track,
                      {call.videoSend, call.videoReceive, call.audioSend, call.audioReceive});
        }
        return true;
    };
    hooks.onTrack = [&](std::shared_ptr<Track> track) {
        const auto codec = track->codec();
        events().print(
            {{"event", "track"},
             {"kind", toString(track->kind())},
             {"codec", codec ? codec->name : (track->kind() == MediaKind::Video ? "VP8" : "opus")},
             {"mid", track->mid()}});
        std::lock_guard lock(call.mutex);
        call.remoteTracks.push_back(track);
        if (track != call.videoTrack && track != call.audioTrack)
            bindTrack(track,
                      {call.videoSend, call.videoReceive, call.audioSend, call.audioReceive});
    };
    hooks.onRemoteHangup = [&] { end(); };
    hooks.onDeadline = [&] { end(); };
    hooks.addStats = [&](nlohmann::json& report) {
        for (auto& s : finalStats(call)) report.push_back(s);
    };
    PeerSession session(app, common, hooks);
    self = &session;
    if (!session.start()) {
        call.stopStreams();
        return session.exec();
    }
    QTimer statsTimer;
    QObject::connect(&statsTimer, &QTimer::timeout, [&] {
        if (session.finished()) return;
        // Lip sync from the peer's Sender Reports (media/call/lip_sync.hpp), once a second.
        call.lipSync->update(call.senderClock(MediaKind::Audio),
                             call.senderClock(MediaKind::Video));
        events().print(statsLine(call, session.pc()));
    });
    statsTimer.start(1000);
    const int code = session.exec();
    call.stopStreams();
    {
        std::lock_guard lock(call.mutex);
        for (const auto& t : {call.videoTrack, call.audioTrack})
            if (t)
                unbindTrack(t,
                            {call.videoSend, call.videoReceive, call.audioSend, call.audioReceive});
        for (const auto& t : call.remoteTracks)
            unbindTrack(t, {call.videoSend, call.videoReceive, call.audioSend, call.audioReceive});
    }
    return code;
}

}  // namespace tincan::cli
