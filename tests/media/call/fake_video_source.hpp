// A push VideoSource for tests: the test pattern at a chosen size, pushed from its own thread
// every `intervalMs` (a camera's shape), which can be made to fail as an unplugged camera does.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "media/video/test_pattern.hpp"
#include "media/video/video_source.hpp"

namespace tincan::media::test {

class FakeVideoSource : public VideoSource {
public:
    FakeVideoSource(int width, int height, int intervalMs = 20)
        : width_(width), height_(height), intervalMs_(intervalMs) {}
    ~FakeVideoSource() override { stop(); }

    bool start(std::string& error) override {
        if (refuse_) {
            error = "fake source refused to start";
            return false;
        }
        stop();
        running_ = true;
        thread_ = std::thread([this] {
            TestPatternSource pattern(width_, height_, 1000 / intervalMs_);
            I420Frame frame;
            while (running_) {
                const auto now = std::chrono::steady_clock::now();
                pattern.generate(frame, std::chrono::duration_cast<std::chrono::microseconds>(
                                            now.time_since_epoch())
                                            .count());
                if (onFrame) onFrame(frame.view());
                ++pushed_;
                if (failNow_.exchange(false) && onError) onError(failReason_);
                std::this_thread::sleep_for(std::chrono::milliseconds(intervalMs_));
            }
        });
        return true;
    }
    void stop() override {
        running_ = false;
        if (thread_.joinable()) thread_.join();
        ++stops_;
    }

    // The source's thread reports `reason` after its next frame (and keeps pushing frames, as a
    // half-dead device may).
    void fail(std::string reason) {
        failReason_ = std::move(reason);
        failNow_ = true;
    }
    void refuseStart() { refuse_ = true; }
    uint64_t pushed() const { return pushed_.load(); }

private:
    int width_, height_, intervalMs_;
    std::atomic<bool> running_{false}, failNow_{false};
    bool refuse_ = false;
    std::string failReason_;
    std::atomic<uint64_t> pushed_{0};
    std::atomic<int> stops_{0};
    std::thread thread_;
};

}  // namespace tincan::media::test
