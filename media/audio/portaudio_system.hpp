// PortAudio for the process: initialisation (with ALSA's start-up chatter kept off the user's
// terminal), the device list and the defaults. One instance at a time; streams hold a
// shared_ptr to it so it outlives them.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace tincan::media {

struct AudioDeviceInfo {
    int index = -1;
    std::string name;
    std::string hostApi;
    int maxInputChannels = 0;
    int maxOutputChannels = 0;
    double defaultRateHz = 0;
    bool isDefaultInput = false;
    bool isDefaultOutput = false;
};

class PortAudioSystem {
public:
    // Initialises PortAudio; nullptr with a readable `error` when it cannot.
    static std::shared_ptr<PortAudioSystem> create(std::string& error);
    ~PortAudioSystem();
    PortAudioSystem(const PortAudioSystem&) = delete;
    PortAudioSystem& operator=(const PortAudioSystem&) = delete;

    std::vector<AudioDeviceInfo> devices() const;
    int defaultInput() const;   // −1 when there is none
    int defaultOutput() const;  // −1 when there is none

    // Checks a device for a direction (−1 = the default); returns its index or −1 with `error`.
    int pickDevice(int device, bool input, std::string& error) const;

private:
    PortAudioSystem() = default;
};

int silenceStderr();  // returns the saved descriptor, −1 on failure
void restoreStderr(int saved);

// Runs `fn` with file descriptor 2 pointed at /dev/null: ALSA's library prints dozens of lines
// while PortAudio probes and opens devices, none of which a user can act on.
template <typename Fn>
auto withStderrSilenced(Fn&& fn) -> decltype(fn()) {
    const int saved = silenceStderr();
    struct Restore {
        int fd;
        ~Restore() { restoreStderr(fd); }
    } restore{saved};
    return fn();
}

}  // namespace tincan::media
