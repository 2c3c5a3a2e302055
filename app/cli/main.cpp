// tincan-cli: the Tincan peer without a window (../shared/CLI.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/cli/commands.hpp"
#include "tincan/version.hpp"

namespace tincan::cli {

void printError(const std::string& message) {
    std::fprintf(stderr, "tincan-cli: %s\n", message.c_str());
    std::fflush(stderr);
}

bool writeStatsFile(const std::string& path, const std::string& json) {
    std::ofstream out(path, std::ios::trunc);
    if (!out || !(out << json << "\n") || !out.flush()) {
        printError("cannot write --stats-json " + path);
        return false;
    }
    return true;
}

}  // namespace tincan::cli

int main(int argc, char** argv) {
    using namespace tincan::cli;
    CLI::App app{
        "Tincan headless WebRTC peer: ICE/STUN/TURN connectivity, data channels and calls.\n"
        "Events are printed on stdout as one JSON object per line.",
        "tincan-cli"};
    app.set_version_flag("--version", std::string("tincan-cli ") + tincan::version());
    app.require_subcommand(1);
    CommonOptions common;
    auto addCommon = [&](CLI::App* cmd) {
        cmd->add_option("--signal", common.signal,
                        "signaling server and room, ws://HOST:PORT/ROOM");
        cmd->add_option("--stun", common.servers.stun,
                        "STUN server, stun:HOST[:PORT] (repeatable)");
        cmd->add_option(
            "--turn", common.servers.turn,
            "TURN server, turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT] (repeatable)");
        cmd->add_option("--turn-user", common.servers.turnUser,
                        "TURN long-term credential: user name");
        cmd->add_option("--turn-pass", common.servers.turnPass,
                        "TURN long-term credential: password");
        cmd->add_option(
               "--turn-ca", common.servers.turnCaFile,
               "PEM CA certificate to trust for turns: servers (in addition to the system store)")
            ->check(CLI::ExistingFile);
        cmd->add_option("--ice-policy", common.icePolicy,
                        "all, or relay to use relayed candidates only")
            ->check(CLI::IsMember({"all", "relay"}));
        cmd->add_option("--duration", common.durationSeconds, "give up after S seconds")
            ->check(CLI::PositiveNumber);
        cmd->add_option("--stats-json", common.statsJson,
                        "write the final statistics to FILE at exit");
        cmd->add_option("--log-level", common.logLevel,
                        "stderr verbosity: error, warn, info, debug, trace")
            ->check(CLI::IsMember({"error", "warn", "info", "debug", "trace"}));
        cmd->add_flag(
            "--allow-loopback", common.allowLoopback,
            "offer loopback addresses as host candidates even when other interfaces exist");
        cmd->add_option("--interface", common.interfaces,
                        "only use this network interface (repeatable)");
        cmd->add_option("--sack-every", common.sackEvery,
                        "expert: let another Tincan peer acknowledge our data every N packets "
                        "(2 = as RFC 9260, at most 16; default 8)")
            ->check(CLI::Range(2, 16));
    };

    StunOptions stun;
    auto* stunCmd = app.add_subcommand("stun", "ask a STUN server for this host's mapped address");
    stunCmd->add_option("uri", stun.uri, "stun:HOST[:PORT]")->required();
    stunCmd->add_flag("--nat-behavior", stun.natBehavior,
                      "classify the NAT's mapping and filtering (RFC 5780; the server needs an "
                      "alternate address)");
    addCommon(stunCmd);

    auto* connectCmd = app.add_subcommand(
        "connect", "meet a peer in a signaling room, connect ICE, and report the path (ICE only)");
    addCommon(connectCmd);

    auto* echoCmd = app.add_subcommand("echo",
                                       "join the room and echo every message on every data channel "
                                       "the peer opens, until it hangs up");
    addCommon(echoCmd);

    std::vector<std::string> sendFiles;
    auto* sendCmd = app.add_subcommand("send", "send files over data channels (FILE_TRANSFER.md)");
    sendCmd->add_option("files", sendFiles, "files to send")->required()->check(CLI::ExistingFile);
    addCommon(sendCmd);

    std::string outDir;
    size_t count = 1;
    bool overwrite = false;
    auto* receiveCmd =
        app.add_subcommand("receive", "receive files into a folder (FILE_TRANSFER.md)");
    receiveCmd->add_option("--out", outDir, "folder to write the files to")->required();
    receiveCmd->add_option("--count", count, "how many files to receive before exiting (default 1)")
        ->check(CLI::PositiveNumber);
    receiveCmd->add_flag("--overwrite", overwrite,
                         "replace existing files instead of choosing a new name");
    addCommon(receiveCmd);

    CallOptions call;
    auto* callCmd = app.add_subcommand(
        "call",
        "a media call: send the test pattern or camera (VP8) and a tone or microphone "
        "(Opus), decode what the peer sends");
    callCmd->add_option("--video", call.video, "test (default), camera or none")
        ->check(CLI::IsMember({"test", "camera", "none"}));
    callCmd->add_option("--audio", call.audio, "tone (default), mic or none")
        ->check(CLI::IsMember({"tone", "mic", "none"}));
    callCmd->add_option("--width", call.width, "video width (default 640)")
        ->check(CLI::Range(96, 3840));
    callCmd->add_option("--height", call.height, "video height (default 480)")
        ->check(CLI::Range(64, 2160));
    callCmd->add_option("--fps", call.fps, "video frame rate (default 30)")
        ->check(CLI::Range(1, 60));
    callCmd
        ->add_option("--degradation-preference", call.degradation,
                     "what gives when CPU or bandwidth run short (W3C names): balanced "
                     "(default: smaller picture, then lower rate) or maintain-resolution")
        ->check(CLI::IsMember({"balanced", "maintain-resolution"}));
    callCmd->add_option("--tone-hz", call.toneHz, "the tone's frequency (default 440)")
        ->check(CLI::Range(50.0, 8000.0));
    callCmd->add_option("--record", call.recordDir,
                        "write what was received to DIR/video.y4m and DIR/audio.wav");
    addCommon(callCmd);

    BenchOptions bench;
    auto* benchOpenCmd = app.add_subcommand("bench-open",
                                            "benchmark: data-channel open time, welcome -> open, "
                                            "over --rounds sessions (rooms ROOM-0, ...)");
    benchOpenCmd
        ->add_option("--rounds", bench.rounds,
                     "sessions, in rooms ROOM-0, ROOM-1, ... when > 1 (default 1)")
        ->check(CLI::PositiveNumber);
    addCommon(benchOpenCmd);
    auto* benchTputCmd = app.add_subcommand(
        "bench-throughput",
        "benchmark: data-channel throughput; the sender sends --bytes generated bytes on `bench`");
    benchTputCmd->add_option("--bytes", bench.bytes, "bytes to send (sender)");
    benchTputCmd
        ->add_option("--role", bench.role, "send or receive (default: send iff --bytes > 0)")
        ->check(CLI::IsMember({"send", "receive"}));
    benchTputCmd
        ->add_option("--chunk", bench.chunk,
                     "message size (default 65536, capped at the remote's max-message-size)")
        ->check(CLI::PositiveNumber);
    benchTputCmd->add_option("--high", bench.high,
                             "queue while bufferedAmount <= this (default 1 MiB: bytes waiting for "
                             "SCTP, as in browsers)");
    benchTputCmd->add_option("--low", bench.low,
                             "resume at bufferedamountlow with this threshold (default 256 KiB)");
    addCommon(benchTputCmd);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string what = e.what();
        printError(what + " (see tincan-cli --help)");
        return 2;
    }

    auto logger = spdlog::stderr_color_mt("tincan");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(common.logLevel));
    spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");

    try {
        if (*stunCmd) return runStun(common, stun);
        if (*connectCmd) return runConnect(argc, argv, common);
        if (*echoCmd) return runEcho(argc, argv, common);
        if (*sendCmd) return runSend(argc, argv, common, sendFiles);
        if (*receiveCmd) return runReceive(argc, argv, common, outDir, count, overwrite);
        if (*callCmd) return runCall(argc, argv, common, call);
        if (*benchOpenCmd) return runBenchOpen(argc, argv, common, bench);
        if (*benchTputCmd) return runBenchThroughput(argc, argv, common, bench);
    } catch (const std::exception& e) {
        printError(std::string("internal error: ") + e.what());
        return 1;
    }
    return 2;
}
