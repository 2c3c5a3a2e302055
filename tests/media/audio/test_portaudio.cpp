// PortAudio for real: a user-space PulseAudio started here, with a null sink as the speaker and
// a 440 Hz sine source as the microphone (LAB_NOTES "Sound and camera"). When PulseAudio cannot
// start the tests are skipped with the reason, except under CI=true, where that is a failure.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "media/audio/portaudio_devices.hpp"
#include "media/audio/tone.hpp"

using namespace tincan::media;
using namespace std::chrono_literals;

namespace {

std::string g_skipReason;
pid_t g_pulsePid = -1;
std::filesystem::path g_runtimeDir;

int run(const std::string& cmd) {
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

class PulseEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        char tmpl[] = "/tmp/tincan_pulse_XXXXXX";
        if (!::mkdtemp(tmpl)) {
            g_skipReason = "mkdtemp failed";
            return;
        }
        g_runtimeDir = tmpl;
        ::setenv("XDG_RUNTIME_DIR", tmpl, 1);
        ::unsetenv("PULSE_SERVER");  // ours only, never a server from the environment
        ::setenv("PULSE_RUNTIME_PATH", (g_runtimeDir / "pulse").c_str(), 1);
        const std::string log = (g_runtimeDir / "pulse.log").string();
        // -n: no default.pa; as root PulseAudio also needs its own XDG_RUNTIME_DIR.
        const int rc =
            run("pulseaudio -n --daemonize=yes --exit-idle-time=-1 --log-target=file:" + log +
                " --load=module-native-protocol-unix"
                " --load='module-null-sink sink_name=vspk rate=48000'"
                " --load='module-sine-source source_name=vmic rate=48000 frequency=440' 2>>" +
                log);
        if (rc != 0) {
            g_skipReason =
                "pulseaudio did not start (exit " + std::to_string(rc) + "; see " + log + ")";
            return;
        }
        std::ifstream pidFile(g_runtimeDir / "pulse" / "pid");
        pidFile >> g_pulsePid;
        if (run("pactl set-default-sink vspk && pactl set-default-source vmic") != 0)
            g_skipReason = "pactl could not set the default devices";
    }
    void TearDown() override {
        if (g_pulsePid > 0) {
            ::kill(g_pulsePid, SIGTERM);
            for (int i = 0; i < 20 && ::kill(g_pulsePid, 0) == 0; ++i)
                std::this_thread::sleep_for(50ms);
            if (::kill(g_pulsePid, 0) == 0) ::kill(g_pulsePid, SIGKILL);
        }
        if (!g_runtimeDir.empty()) std::filesystem::remove_all(g_runtimeDir);
    }
};

const auto* g_env = ::testing::AddGlobalTestEnvironment(new PulseEnvironment);

#define REQUIRE_PULSE()                                                  \
    do {                                                                 \
        if (!g_skipReason.empty()) {                                     \
            const char* ci = std::getenv("CI");                          \
            if (ci && std::string(ci) == "true") FAIL() << g_skipReason; \
            GTEST_SKIP() << g_skipReason;                                \
        }                                                                \
    } while (0)

// Reads `ms` of audio from the microphone, waiting in real time as PortAudio delivers it.
std::vector<int16_t> capture(PortAudioMicrophone& mic, int ms) {
    std::vector<int16_t> out;
    AudioFrame f;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(ms * 3 + 2000);
    while (int(out.size()) < ms * 48 && std::chrono::steady_clock::now() < deadline) {
        if (mic.read(f, 480))
            out.insert(out.end(), f.data().begin(), f.data().end());
        else
            std::this_thread::sleep_for(5ms);
    }
    return out;
}

}  // namespace

TEST(PortAudio, ListsThePulseDevices) {
    REQUIRE_PULSE();
    std::string error;
    auto pa = PortAudioSystem::create(error);
    ASSERT_TRUE(pa) << error;
    auto devices = pa->devices();
    ASSERT_FALSE(devices.empty());
    EXPECT_GE(pa->defaultInput(), 0);
    EXPECT_GE(pa->defaultOutput(), 0);
    bool sawPulse = false;
    for (auto& d : devices) sawPulse = sawPulse || d.name == "pulse";
    EXPECT_TRUE(sawPulse);
}

TEST(PortAudio, MicrophoneHearsTheSineSource) {
    REQUIRE_PULSE();
    std::string error;
    auto pa = PortAudioSystem::create(error);
    ASSERT_TRUE(pa) << error;
    PortAudioMicrophone mic(pa);
    ASSERT_TRUE(mic.start({.channels = 1, .bufferMs = 10}, error)) << error;
    auto pcm = capture(mic, 1000);
    mic.stop();
    ASSERT_GE(pcm.size(), 48000u);
    EXPECT_GT(mic.callbacks(), 10u);
    std::span<const int16_t> tail(pcm.data() + 24000, 24000);  // past any start-up fade
    EXPECT_GT(goertzelPower(tail, 1, 440), 20 * goertzelPower(tail, 1, 1000));
    EXPECT_GT(rmsDbfs(tail, 1), -40);
}

TEST(PortAudio, SpeakerPlaysIntoTheSinkItsMonitorHears) {
    REQUIRE_PULSE();
    // The microphone now listens to what the speaker plays: the null sink's monitor.
    ASSERT_EQ(run("pactl set-default-source vspk.monitor"), 0);
    std::string error;
    auto pa = PortAudioSystem::create(error);
    ASSERT_TRUE(pa) << error;
    PortAudioSpeaker speaker(pa);
    ASSERT_TRUE(speaker.start({.channels = 1, .bufferMs = 20}, error)) << error;
    PortAudioMicrophone mic(pa);
    ASSERT_TRUE(mic.start({.channels = 1, .bufferMs = 10}, error)) << error;
    ToneSource tone(1000, -6.0);
    AudioFrame f;
    std::vector<int16_t> heard;
    // Until 1.2 s of audio came back (a freshly started server can take a while to get going).
    const auto deadline = std::chrono::steady_clock::now() + 8s;
    while (heard.size() < 57600 && std::chrono::steady_clock::now() < deadline) {
        while (speaker.bufferedSamples() < 4800) {  // keep ~100 ms queued ahead of the device
            tone.fill(f, 480);
            EXPECT_TRUE(speaker.write(f));
        }
        if (mic.read(f, 480))
            heard.insert(heard.end(), f.data().begin(), f.data().end());
        else
            std::this_thread::sleep_for(5ms);
    }
    mic.stop();
    speaker.stop();
    run("pactl set-default-source vmic");
    ASSERT_GE(heard.size(), 57600u);
    std::span<const int16_t> mid(heard.data() + 33600, 24000);  // the last 0.5 s
    EXPECT_GT(goertzelPower(mid, 1, 1000), 20 * goertzelPower(mid, 1, 440));
    EXPECT_GT(speaker.callbacks(), 10u);
    EXPECT_EQ(speaker.droppedSamples(), 0u);
}

TEST(PortAudio, NoDeviceIsOneClearErrorAndNoNoise) {
    // A sound server that does not exist: ALSA finds nothing to open. Whatever ALSA prints must
    // not reach stderr.
    const char* old = std::getenv("PULSE_SERVER");
    ::setenv("PULSE_SERVER", "unix:/nonexistent/tincan/native", 1);
    testing::internal::CaptureStderr();
    std::string error;
    auto pa = PortAudioSystem::create(error);
    std::string micError;
    bool started = false;
    if (pa) {
        PortAudioMicrophone mic(pa);
        started = mic.start({}, micError);
    }
    const std::string noise = testing::internal::GetCapturedStderr();
    if (old)
        ::setenv("PULSE_SERVER", old, 1);
    else
        ::unsetenv("PULSE_SERVER");
    EXPECT_EQ(noise, "");
    ASSERT_TRUE(pa) << error;
    EXPECT_FALSE(started);
    EXPECT_TRUE(micError.rfind("no microphone found", 0) == 0 ||
                micError.rfind("cannot open microphone", 0) == 0)
        << micError;
}
