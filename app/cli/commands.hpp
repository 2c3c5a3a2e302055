// tincan-cli subcommands (../shared/CLI.md).
#pragma once

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
int runSend(int argc, char** argv, const CommonOptions& common, const std::vector<std::string>& files);
int runReceive(int argc, char** argv, const CommonOptions& common, const std::string& outDir, size_t count,
               bool overwrite);

// Prints "tincan-cli: <message>" on stderr (the one-line failure of CLI.md).
void printError(const std::string& message);
// Writes the --stats-json file; returns false (after printing why) if it cannot.
bool writeStatsFile(const std::string& path, const std::string& json);

}  // namespace tincan::cli
