// Lip sync for one peer: the AvSynchronizer (av_sync.hpp) between that peer's audio and video
// receive streams. The owner calls update() about once a second with the Sender Report clocks
// of the tracks the two streams hear (Track::remoteSenderClock()); the extra delays go to the
// streams (audio: a higher playout target, reached by time-stretching; video: frames held before
// decoding). The CLI calls it from its stats timer; the app's MediaBridge can do the same from
// any timer (one call, no thread of its own).
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "media/call/av_sync.hpp"
#include "tincan/track.hpp"

namespace tincan::media {

class AudioReceiveStream;
class VideoReceiveStream;

class LipSync {
public:
    LipSync(std::weak_ptr<AudioReceiveStream> audio, std::weak_ptr<VideoReceiveStream> video,
            const AvSyncConfig& config = {});

    // Any thread (one at a time is enough: it locks).
    void update(const std::optional<RemoteSenderClock>& audioClock,
                const std::optional<RemoteSenderClock>& videoClock);

    AvSyncStats stats() const;
    AvSyncDelays delays() const;

private:
    std::weak_ptr<AudioReceiveStream> audio_;
    std::weak_ptr<VideoReceiveStream> video_;
    mutable std::mutex mutex_;
    AvSynchronizer sync_;
};

}  // namespace tincan::media
