// tincan-cli echo | send | receive (../shared/CLI.md, ../shared/FILE_TRANSFER.md).
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>

#include "app/cli/commands.hpp"
#include "app/cli/events.hpp"
#include "app/cli/peer_session.hpp"
#include "transfer/file_transfer.hpp"

namespace tincan::cli {

using namespace std::chrono_literals;

namespace {

// How long the last acks may take once the other side is done: the bye that overtook them on
// the sender's side, the channel close after them on the receiver's.
constexpr std::chrono::milliseconds kAckGrace = 5s;

// CLI.md's transfer-progress, plus the speed and time left a progress bar shows.
void printProgress(const transfer::Progress& p) {
    Json e = {{"event", "transfer-progress"},
              {"name", p.name},
              {"bytes", p.bytes},
              {"size", p.size},
              {"bytes_per_second", p.bytesPerSecond}};
    if (p.secondsLeft) e["seconds_left"] = *p.secondsLeft;
    events().print(e);
}

}  // namespace

int runEcho(int argc, char** argv, const CommonOptions& common) {
    QCoreApplication app(argc, argv);
    std::mutex m;
    std::vector<std::shared_ptr<DataChannel>> channels;
    PeerSession* self = nullptr;
    PeerSession::Hooks hooks;
    hooks.onDataChannel = [&](std::shared_ptr<DataChannel> ch) {
        std::weak_ptr<DataChannel> weak = ch;
        ch->setCallbacks({.onOpen = {},
                          .onMessage =
                              [weak](ByteView data, bool binary) {
                                  // Same channel, same kind: text as text, binary as binary.
                                  if (auto c = weak.lock())
                                      binary ? c->sendBinary(data) : c->send(asString(data));
                              },
                          .onClose = {},
                          .onBufferedAmountLow = {}});
        std::lock_guard lock(m);
        channels.push_back(std::move(ch));
    };
    hooks.onRemoteHangup = [&] { self->finish(0); };
    PeerSession session(app, common, hooks);
    self = &session;
    if (!session.start()) return session.exec();
    return session.exec();
}

int runSend(int argc, char** argv, const CommonOptions& common,
            const std::vector<std::string>& files) {
    QCoreApplication app(argc, argv);
    PeerSession* self = nullptr;
    std::vector<std::shared_ptr<transfer::FileSender>> senders;
    std::atomic<size_t> done{0};
    // The receiver's bye travels over signaling and may overtake its last acks on the data
    // channels: once every byte is sent, give them a moment before calling the hang-up early.
    const auto early = [&] {
        if (done < files.size())
            self->finish(1, "the receiver hung up before every file was acknowledged");
    };
    QTimer ackGrace;
    ackGrace.setSingleShot(true);
    QObject::connect(&ackGrace, &QTimer::timeout, early);
    PeerSession::Hooks hooks;
    hooks.onRemoteHangup = [&] {
        bool allSent = !senders.empty() && std::all_of(senders.begin(), senders.end(), [](auto& s) {
            auto p = s->progress();  // no name yet: nothing sent
            return !p.name.empty() && p.bytes == p.size;
        });
        if (allSent && done < files.size())
            ackGrace.start(kAckGrace);
        else
            early();
    };
    PeerSession session(app, common, hooks);
    self = &session;
    for (const auto& f : files) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(f, ec)) {
            printError(f + ": no such file (or not a regular file)");
            return 1;
        }
    }
    if (!session.start()) return session.exec();
    // One ordered, reliable channel labelled "file" per file (FILE_TRANSFER.md), all at once.
    for (const auto& f : files) {
        auto created = session.pc().createDataChannel("file");
        if (!created) {
            printError("cannot open a data channel: " + created.message());
            return 1;
        }
        auto ch = *created;
        std::string name = std::filesystem::path(f).filename().string();
        auto sender = transfer::FileSender::start(
            ch, f,
            {.onOpen =
                 [ch] {
                     // CLI.md: datachannel-open for every channel that opens, ours too.
                     events().print({{"event", "datachannel-open"},
                                     {"label", ch->label()},
                                     {"id", ch->id().value_or(0)}});
                 },
             .onOffer = {},
             .onProgress = printProgress,
             .onDone =
                 [&, n = files.size()](const transfer::Done& d) {
                     events().print({{"event", "transfer-done"},
                                     {"name", d.name},
                                     {"bytes", d.bytes},
                                     {"sha256", d.sha256},
                                     {"seconds", d.seconds},
                                     {"resumed_from", d.resumedFrom}});
                     if (++done == n) session.onQt([&] { session.finish(0); });
                 },
             .onError =
                 [&, name](const std::string& e) {
                     session.onQt([&, e, name] { session.finish(1, name + ": " + e); });
                 }});
        if (!sender) {
            printError(sender.message());
            return 1;
        }
        senders.push_back(*sender);
    }
    const int code = session.exec();
    // No worker may outlive this function: detached, it would race the process exit.
    for (auto& s : senders) s->finish(2s);
    return code;
}

int runReceive(int argc, char** argv, const CommonOptions& common, const std::string& outDir,
               size_t count, bool overwrite) {
    QCoreApplication app(argc, argv);
    // Refused now, not when the first file arrives (issue 8, row 8).
    if (auto writable = transfer::checkWritableDirectory(outDir); !writable) {
        printError("--out " + outDir + ": " + writable.message());
        return 2;
    }
    PeerSession* self = nullptr;
    std::mutex m;
    std::vector<std::shared_ptr<transfer::FileReceiver>> receivers;
    std::vector<std::shared_ptr<DataChannel>> channels;
    std::atomic<size_t> done{0};
    // Once every file is in place, hang up when the sender has closed each file channel (it
    // does so once it has the ack, FILE_TRANSFER.md step 6) or has hung up itself: then the
    // ack is known to have arrived. A fixed pause could end the call while a lost ack was still
    // to be sent again. A sender that never closes is waited for kAckGrace at most.
    QTimer linger;
    QElapsedTimer lingering;
    linger.setInterval(10);
    QObject::connect(&linger, &QTimer::timeout, [&] {
        bool waiting = false;
        {
            std::lock_guard lock(m);
            for (auto& c : channels)
                waiting = waiting || c->state() == DataChannelState::Connecting ||
                          c->state() == DataChannelState::Open;
        }
        if (!waiting || lingering.hasExpired(kAckGrace.count())) {
            linger.stop();
            self->finish(0);
        }
    });
    PeerSession::Hooks hooks;
    hooks.onDataChannel = [&](std::shared_ptr<DataChannel> ch) {
        if (ch->label() != "file") return;  // not ours: leave it alone
        {
            std::lock_guard lock(m);  // before the transfer can end
            channels.push_back(ch);
        }
        auto r = transfer::FileReceiver::start(
            ch, {.directory = outDir, .overwrite = overwrite, .keepPartial = true},
            {.onOpen = {},
             .onOffer = {},
             .onProgress = printProgress,
             .onDone =
                 [&](const transfer::Done& d) {
                     events().print({{"event", "transfer-done"},
                                     {"name", d.name},
                                     {"bytes", d.bytes},
                                     {"sha256", d.sha256},
                                     {"seconds", d.seconds},
                                     {"path", d.path.string()},
                                     {"resumed_from", d.resumedFrom}});
                     // onDone runs before the ack leaves: no hang-up can come before this.
                     if (++done == count)
                         self->onQt([&] {
                             lingering.start();
                             linger.start();
                         });
                 },
             .onError = [&](const std::string& e) { self->onQt([&, e] { self->finish(1, e); }); }});
        std::lock_guard lock(m);
        receivers.push_back(r);
    };
    hooks.onRemoteHangup = [&] {
        if (done < count)
            self->finish(1, "the sender hung up after " + std::to_string(done.load()) + " of " +
                                std::to_string(count) + " files");
        else
            self->finish(0);
    };
    PeerSession session(app, common, hooks);
    self = &session;
    if (!session.start()) return session.exec();
    const int code = session.exec();
    std::vector<std::shared_ptr<transfer::FileReceiver>> all;
    {
        std::lock_guard lock(m);
        all = receivers;
    }
    for (auto& r : all) r->finish(2s);  // as in runSend
    return code;
}

}  // namespace tincan::cli
