// tincan-cli subcommands (../shared/CLI.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/cli/servers.hpp"

namespace tincan::cli {

struct CommonOptions {
    std::string signal;
    ServerOptions servers;
    std::string icePolicy = "all";
    std::optional<double> durationSeconds;
    std::string statsJson;
    std::string logLevel = "warn";
    bool allowLoopback = false;
    std::vector<std::string> interfaces;
    unsigned sackEvery = 8;  // Configuration::dataChannelSackEvery
};

// bench-open / bench-throughput (tests/interop/README.md, "Modes").
struct BenchOptions {
    int rounds = 1;        // bench-open: sessions in rooms ROOM-0, ROOM-1, ...
    uint64_t bytes = 0;    // bench-throughput: what the sender sends
    std::string role;      // send | receive; default: send iff bytes > 0
    size_t chunk = 65536;  // message size, capped at the remote's max-message-size
    // Pacing: queue while bufferedAmount <= high, resume at bufferedamountlow (threshold low).
    // Tuned on loopback (docs/BENCHMARKS.md): 1 MiB / 256 KiB beat the harness's 4 MiB / 1 MiB
    // by ~30 %. bufferedAmount counts bytes not yet handed to SCTP (browser semantics): the
    // bytes in flight follow SCTP's congestion window, not this mark.
    size_t high = 1024 * 1024;
    size_t low = 256 * 1024;
};

// `call` (CLI.md): what to send and where to record what arrives.
struct CallOptions {
    std::string video = "test";  // test | camera | none
    std::string audio = "tone";  // tone | mic | none
    int width = 640;
    int height = 480;
    int fps = 30;
    double toneHz = 440;
    std::string degradation = "balanced";  // W3C RTCDegradationPreference; or maintain-resolution
    std::string recordDir;                 // video.y4m and audio.wav of what was received
};

struct StunOptions {
    std::string uri;
    bool natBehavior = false;
};

int runStun(const CommonOptions& common, const StunOptions& options);
// `connect`: ICE only, between two tincan-cli peers through tincan-signal. Exits 0 once the
// selected pair has carried data both ways.
int runConnect(int argc, char** argv, const CommonOptions& common);
// Data channels (../shared/CLI.md, ../shared/FILE_TRANSFER.md).
int runEcho(int argc, char** argv, const CommonOptions& common);
int runSend(int argc, char** argv, const CommonOptions& common,
            const std::vector<std::string>& files);
int runReceive(int argc, char** argv, const CommonOptions& common, const std::string& outDir,
               size_t count, bool overwrite);

// A media call: VP8 and Opus both ways (call_command.cpp).
int runCall(int argc, char** argv, const CommonOptions& common, const CallOptions& options);

// Benchmarks that pair with the interop harness's peers (bench_command.cpp).
int runBenchOpen(int argc, char** argv, const CommonOptions& common, const BenchOptions& options);
int runBenchThroughput(int argc, char** argv, const CommonOptions& common,
                       const BenchOptions& options);

// Prints "tincan-cli: <message>" on stderr (the one-line failure of CLI.md).
void printError(const std::string& message);
// Writes the --stats-json file; returns false (after printing why) if it cannot.
bool writeStatsFile(const std::string& path, const std::string& json);

}  // namespace tincan::cli
