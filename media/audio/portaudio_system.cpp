#include "media/audio/portaudio_system.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <portaudio.h>
#include <unistd.h>

#include <cstdio>

namespace tincan::media {

int silenceStderr() {
    std::fflush(stderr);
    const int saved = ::dup(2);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved < 0 || null < 0) {
        if (null >= 0) ::close(null);
        if (saved >= 0) ::close(saved);
        return -1;
    }
    ::dup2(null, 2);
    ::close(null);
    return saved;
}

void restoreStderr(int saved) {
    if (saved < 0) return;
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
}

std::shared_ptr<PortAudioSystem> PortAudioSystem::create(std::string& error) {
    const PaError err = withStderrSilenced([] { return Pa_Initialize(); });
    if (err != paNoError) {
        error = fmt::format("audio unavailable: {}", Pa_GetErrorText(err));
        return nullptr;
    }
    return std::shared_ptr<PortAudioSystem>(new PortAudioSystem());
}

PortAudioSystem::~PortAudioSystem() {
    withStderrSilenced([] { return Pa_Terminate(); });
}

std::vector<AudioDeviceInfo> PortAudioSystem::devices() const {
    std::vector<AudioDeviceInfo> out;
    const int n = Pa_GetDeviceCount();
    for (int i = 0; i < n; ++i) {
        const PaDeviceInfo* d = Pa_GetDeviceInfo(i);
        if (!d) continue;
        AudioDeviceInfo info;
        info.index = i;
        info.name = d->name ? d->name : "";
        const PaHostApiInfo* api = Pa_GetHostApiInfo(d->hostApi);
        info.hostApi = api && api->name ? api->name : "";
        info.maxInputChannels = d->maxInputChannels;
        info.maxOutputChannels = d->maxOutputChannels;
        info.defaultRateHz = d->defaultSampleRate;
        info.isDefaultInput = i == Pa_GetDefaultInputDevice();
        info.isDefaultOutput = i == Pa_GetDefaultOutputDevice();
        out.push_back(std::move(info));
    }
    return out;
}

int PortAudioSystem::defaultInput() const {
    const PaDeviceIndex i = Pa_GetDefaultInputDevice();
    return i == paNoDevice ? -1 : i;
}

int PortAudioSystem::defaultOutput() const {
    const PaDeviceIndex i = Pa_GetDefaultOutputDevice();
    return i == paNoDevice ? -1 : i;
}

int PortAudioSystem::pickDevice(int device, bool input, std::string& error) const {
    const char* what = input ? "microphone" : "speaker";
    if (device < 0) device = input ? defaultInput() : defaultOutput();
    if (device < 0) {
        error = fmt::format("no {} found ({} audio devices; is a sound server running?)", what,
                            Pa_GetDeviceCount() < 0 ? 0 : Pa_GetDeviceCount());
        return -1;
    }
    const PaDeviceInfo* d = Pa_GetDeviceInfo(device);
    if (!d || (input ? d->maxInputChannels : d->maxOutputChannels) < 1) {
        error = fmt::format("audio device {} cannot be a {}", device, what);
        return -1;
    }
    return device;
}

}  // namespace tincan::media
