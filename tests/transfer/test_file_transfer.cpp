// FILE_TRANSFER.md sender and receiver over two real PeerConnections on loopback, and the pure
// pieces (messages, names, progress, the receiver's file system steps) alone.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "../core/pc/pc_pair.hpp"
#include "transfer/file_transfer.hpp"
using namespace tincan;
using namespace tincan::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Outcome {
    std::optional<transfer::Done> done;
    std::string error;
    std::vector<transfer::Progress> progress;
    bool over() const { return done || !error.empty(); }
};

transfer::Callbacks track(Pair& p, Outcome& o) {
    return {.onOpen = {},
            .onOffer = {},
            .onProgress =
                [&p, &o](const transfer::Progress& pr) {
                    std::lock_guard lock(p.waiter.mutex());
                    o.progress.push_back(pr);
                    p.waiter.notify();
                },
            .onDone =
                [&p, &o](const transfer::Done& d) {
                    std::lock_guard lock(p.waiter.mutex());
                    o.done = d;
                    p.waiter.notify();
                },
            .onError =
                [&p, &o](const std::string& e) {
                    std::lock_guard lock(p.waiter.mutex());
                    o.error = e;
                    p.waiter.notify();
                }};
}

class TempDir {
public:
    explicit TempDir(const std::string& tag)
        : path(fs::temp_directory_path() /
               ("tincan-ft-" + tag + "-" + std::to_string(::getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path / "out");
    }
    ~TempDir() { fs::remove_all(path); }
    fs::path path;
};

void writeRandom(const fs::path& file, size_t bytes, unsigned seed) {
    std::ofstream f(file, std::ios::binary);
    std::mt19937 rng(seed);
    std::vector<char> block(1 << 16);
    for (size_t done = 0; done < bytes; done += block.size()) {
        for (auto& c : block) c = char(rng());
        f.write(block.data(), std::streamsize(std::min(block.size(), bytes - done)));
    }
}

std::string slurp(const fs::path& file) {
    std::ifstream f(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string partName(const std::string& name, uint64_t size) {
    return "." + name + "." + std::to_string(size) + ".tincan-part";
}

}  // namespace

TEST(FileTransfer, StreamsVerifiesAndResumes) {
    TempDir dir("resume");
    fs::path src = dir.path / "data.bin";
    writeRandom(src, 8 << 20, 3);
    // A partial download of the same file (same name and size) is resumed from its end.
    {
        std::string head = slurp(src).substr(0, 3 << 20);
        std::ofstream part(dir.path / "out" / partName("data.bin", 8 << 20), std::ios::binary);
        part.write(head.data(), std::streamsize(head.size()));
    }
    Pair p;
    std::shared_ptr<transfer::FileReceiver> receiver;
    Outcome sent, got;
    // Disk work happens where the callbacks run: on the transfers' workers, never on the
    // network thread (a slow disk must not hold up packets).
    std::atomic<int> onNetworkThread{0};
    auto watched = [&](Outcome& o) {
        auto cb = track(p, o);
        cb.onProgress = [&p, &o, &onNetworkThread](const transfer::Progress& pr) {
            onNetworkThread += p.thread->isCurrent();
            std::lock_guard lock(p.waiter.mutex());
            o.progress.push_back(pr);
        };
        return cb;
    };
    auto ch = *p.side[0].pc->createDataChannel("file");
    auto sender = transfer::FileSender::start(ch, src, watched(sent), {.progressInterval = 0ms});
    ASSERT_TRUE(sender) << sender.message();
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> remote) {
        receiver = transfer::FileReceiver::start(
            remote, {.directory = dir.path / "out", .progressInterval = 0ms}, watched(got));
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return (sent.over() && got.over()); }, 30s));
    ASSERT_TRUE(sent.done) << sent.error;
    ASSERT_TRUE(got.done) << got.error;
    EXPECT_EQ(sent.done->sha256, got.done->sha256);
    EXPECT_EQ(got.done->resumedFrom, 3u << 20);
    EXPECT_EQ(slurp(dir.path / "out" / "data.bin"), slurp(src));
    EXPECT_FALSE(fs::exists(dir.path / "out" / partName("data.bin", 8 << 20)));
    // Progress ends at the size, with a speed, and "no time left".
    std::lock_guard lock(p.waiter.mutex());
    ASSERT_FALSE(got.progress.empty());
    EXPECT_EQ(got.progress.front().bytes, 3u << 20);
    EXPECT_EQ(got.progress.back().bytes, 8u << 20);
    EXPECT_EQ(got.progress.back().secondsLeft, 0.0);
    EXPECT_EQ(receiver->progress().bytes, 8u << 20);
    EXPECT_EQ(receiver->counters().malformedMessages, 0u);
    EXPECT_GT(got.progress.size(), 50u);  // one per chunk written
    EXPECT_EQ(onNetworkThread.load(), 0);
}

// Chunk size (issue 7, progress at least every second on slow paths): the receiver sees a chunk
// only whole, so the sender sends 16 KiB ones, not FILE_TRANSFER.md's maximum of 64 KiB. The
// receiver reports one progress event per chunk written, so the steps between events are the
// chunk sizes: all 16 KiB but the last.
TEST(FileTransfer, ChunksAreSmallSoThatSlowPathsShowProgress) {
    TempDir dir("chunks");
    fs::path src = dir.path / "chunks.bin";
    writeRandom(src, (2 << 20) + 1000, 4);
    Pair p;
    std::shared_ptr<transfer::FileReceiver> receiver;
    Outcome sent, got;
    auto ch = *p.side[0].pc->createDataChannel("file");
    auto sender = transfer::FileSender::start(ch, src, track(p, sent), {.progressInterval = 0ms});
    ASSERT_TRUE(sender) << sender.message();
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> remote) {
        receiver = transfer::FileReceiver::start(
            remote, {.directory = dir.path / "out", .progressInterval = 0ms}, track(p, got));
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return (sent.over() && got.over()); }, 30s));
    ASSERT_TRUE(got.done) << got.error;
    EXPECT_EQ(slurp(dir.path / "out" / "chunks.bin"), slurp(src));
    std::lock_guard lock(p.waiter.mutex());
    std::map<uint64_t, int> steps;
    for (size_t i = 1; i < got.progress.size(); ++i)
        if (got.progress[i].bytes > got.progress[i - 1].bytes)
            steps[got.progress[i].bytes - got.progress[i - 1].bytes]++;
    EXPECT_EQ(steps, (std::map<uint64_t, int>{{1000, 1}, {16384, 128}}));
}

// Issue 8 row 4: two channels send the same name and size at once into one folder.
TEST(FileTransfer, ConcurrentSameNameAndSizeNeverShareAPartialFile) {
    TempDir dir("same");
    fs::create_directories(dir.path / "a");
    fs::create_directories(dir.path / "b");
    writeRandom(dir.path / "a" / "same.bin", 6 << 20, 1);
    writeRandom(dir.path / "b" / "same.bin", 6 << 20, 2);
    Pair p;
    std::mutex m;
    std::vector<std::shared_ptr<transfer::FileReceiver>> receivers;
    Outcome sent[2], got[2];
    int remote = 0;
    std::vector<std::shared_ptr<transfer::FileSender>> senders;
    for (int i = 0; i < 2; ++i) {
        auto ch = *p.side[0].pc->createDataChannel("file");
        auto s = transfer::FileSender::start(ch, dir.path / (i ? "b" : "a") / "same.bin",
                                             track(p, sent[i]));
        ASSERT_TRUE(s) << s.message();
        senders.push_back(*s);
    }
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> ch) {
        std::lock_guard lock(m);
        // Small progress steps and a small queue make the two interleave on disk.
        receivers.push_back(transfer::FileReceiver::start(
            ch, {.directory = dir.path / "out", .maxQueuedBytes = 256 * 1024},
            track(p, got[remote++])));
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait(
        [&] { return sent[0].over() && sent[1].over() && got[0].over() && got[1].over(); }, 60s));
    // Both arrive, each acknowledged with its own hash, each file on disk is what was acknowledged.
    std::set<std::string> names;
    for (auto& g : got) {
        ASSERT_TRUE(g.done) << g.error;
        names.insert(g.done->name);
    }
    EXPECT_EQ(names, (std::set<std::string>{"same.bin", "same (1).bin"}));
    std::set<std::string> contents{slurp(dir.path / "out" / "same.bin"),
                                   slurp(dir.path / "out" / "same (1).bin")};
    EXPECT_EQ(contents, (std::set<std::string>{slurp(dir.path / "a" / "same.bin"),
                                               slurp(dir.path / "b" / "same.bin")}));
    for (auto& s : sent) ASSERT_TRUE(s.done) << s.error;
    std::set<std::string> sentHashes{sent[0].done->sha256, sent[1].done->sha256};
    std::set<std::string> gotHashes{got[0].done->sha256, got[1].done->sha256};
    EXPECT_EQ(sentHashes, gotHashes);
    for (auto& g : got) EXPECT_EQ(g.done->resumedFrom, 0u);
    size_t leftovers = 0;
    for (auto& e : fs::directory_iterator(dir.path / "out"))
        leftovers += e.path().extension() == ".tincan-part";
    EXPECT_EQ(leftovers, 0u);
}

// The ack lets the sender finish and hang up, so the receiver's owner must have heard of the
// file before the ack leaves: tincan-cli receive counted its files in onDone and, when onDone ran
// late (under ASan), took the sender's hang-up for one before the end ("the sender hung up after
// 0 of 1 files") although the file was in place. A slow onDone here stands for that.
TEST(FileTransfer, ReceiverHearsOfTheFileBeforeTheSenderIsAcknowledged) {
    TempDir dir("order");
    fs::path src = dir.path / "data.bin";
    writeRandom(src, 256 << 10, 5);
    Pair p;
    std::shared_ptr<transfer::FileReceiver> receiver;
    Outcome sent, got;
    std::atomic<bool> receiverCounted{false};
    std::optional<bool> countedWhenAcknowledged;
    auto sending = track(p, sent);
    sending.onDone = [&](const transfer::Done& d) {
        std::lock_guard lock(p.waiter.mutex());
        countedWhenAcknowledged = receiverCounted.load();
        sent.done = d;
        p.waiter.notify();
    };
    auto receiving = track(p, got);
    auto recorded = receiving.onDone;
    receiving.onDone = [&, recorded](const transfer::Done& d) {
        std::this_thread::sleep_for(300ms);
        receiverCounted = true;
        recorded(d);
    };
    auto ch = *p.side[0].pc->createDataChannel("file");
    auto sender = transfer::FileSender::start(ch, src, sending);
    ASSERT_TRUE(sender) << sender.message();
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> remote) {
        receiver =
            transfer::FileReceiver::start(remote, {.directory = dir.path / "out"}, receiving);
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return sent.over() && got.over(); }, 30s));
    ASSERT_TRUE(sent.done) << sent.error;
    ASSERT_TRUE(got.done) << got.error;
    std::lock_guard lock(p.waiter.mutex());
    ASSERT_TRUE(countedWhenAcknowledged.has_value());
    EXPECT_TRUE(*countedWhenAcknowledged);
    EXPECT_EQ(slurp(dir.path / "out" / "data.bin"), slurp(src));
}

// The accept/reject hook sees name and size before any data flows; a refusal reaches the sender.
TEST(FileTransfer, OfferCanBeRejectedBeforeDataFlows) {
    TempDir dir("reject");
    writeRandom(dir.path / "big.iso", 1 << 20, 4);
    Pair p;
    Outcome sent, got;
    std::optional<transfer::Offer> offered;
    std::shared_ptr<transfer::FileReceiver> receiver;
    auto sender = transfer::FileSender::start(*p.side[0].pc->createDataChannel("file"),
                                              dir.path / "big.iso", track(p, sent));
    ASSERT_TRUE(sender);
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> ch) {
        auto cb = track(p, got);
        cb.onOffer = [&](const transfer::Offer& o) {
            offered = o;
            receiver->reject("too big for me");  // from the worker thread, as an app might
        };
        receiver = transfer::FileReceiver::start(ch, {.directory = dir.path / "out"}, cb);
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return sent.over() && got.over(); }, 30s));
    ASSERT_TRUE(offered);
    EXPECT_EQ(offered->name, "big.iso");
    EXPECT_EQ(offered->size, 1u << 20);
    EXPECT_NE(sent.error.find("too big for me"), std::string::npos) << sent.error;
    EXPECT_FALSE(got.done);
    EXPECT_TRUE(fs::is_empty(dir.path / "out"));
}

// cancel() mid-transfer ends both sides; the receiver keeps its partial file for a resume.
TEST(FileTransfer, CancelEndsBothSidesAndKeepsThePartialFile) {
    TempDir dir("cancel");
    writeRandom(dir.path / "c.bin", 64 << 20, 5);
    Pair p;
    Outcome sent, got;
    std::shared_ptr<transfer::FileReceiver> receiver;
    auto sender =
        transfer::FileSender::start(*p.side[0].pc->createDataChannel("file"), dir.path / "c.bin",
                                    track(p, sent), {.progressInterval = 0ms});
    ASSERT_TRUE(sender);
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> ch) {
        auto cb = track(p, got);
        cb.onProgress = [&](const transfer::Progress& pr) {
            if (pr.bytes >= (1u << 20)) receiver->cancel();
        };
        receiver = transfer::FileReceiver::start(
            ch, {.directory = dir.path / "out", .progressInterval = 0ms}, cb);
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return sent.over() && got.over(); }, 30s));
    EXPECT_EQ(got.error, "cancelled");
    EXPECT_FALSE(sent.done);
    EXPECT_FALSE(sent.error.empty());
    EXPECT_FALSE(fs::exists(dir.path / "out" / "c.bin"));
    fs::path part = dir.path / "out" / partName("c.bin", 64 << 20);
    ASSERT_TRUE(fs::exists(part));
    EXPECT_GE(fs::file_size(part), 1u << 20);
    EXPECT_LT(fs::file_size(part), 64u << 20);
}

// finish() (tincan-cli at exit): a transfer still going is waited for, then cancelled, and its
// worker joined, so no detached worker races the process exit; one that is over is joined at
// once; a worker that is gone is not waited for again.
TEST(FileTransfer, FinishWaitsCancelsAndJoinsTheWorker) {
    TempDir dir("finish");
    writeRandom(dir.path / "f.bin", 64 << 20, 6);
    writeRandom(dir.path / "small.bin", 100 << 10, 7);
    Pair p;
    Outcome sent, got, sentSmall, gotSmall;
    std::mutex m;
    std::vector<std::shared_ptr<transfer::FileReceiver>> receivers;
    auto big =
        transfer::FileSender::start(*p.side[0].pc->createDataChannel("file"), dir.path / "f.bin",
                                    track(p, sent), {.progressInterval = 0ms});
    auto small = transfer::FileSender::start(*p.side[0].pc->createDataChannel("file"),
                                             dir.path / "small.bin", track(p, sentSmall), {});
    ASSERT_TRUE(big && small);
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> ch) {
        std::lock_guard lock(m);
        auto& outcome = receivers.empty() ? got : gotSmall;
        receivers.push_back(transfer::FileReceiver::start(
            ch, {.directory = dir.path / "out", .progressInterval = 0ms}, track(p, outcome)));
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return sentSmall.over() && !sent.progress.empty(); }, 30s));
    ASSERT_TRUE(sentSmall.done) << sentSmall.error;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE((*small)->finish(5s)) << "an ended transfer's worker is joined";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "and not waited for";
    ASSERT_FALSE(sent.over()) << "64 MiB should still be on its way";
    EXPECT_TRUE((*big)->finish(20ms));
    EXPECT_EQ(sent.error, "cancelled");  // the callbacks ran before finish() returned
    EXPECT_FALSE((*big)->finish(20ms)) << "the worker is gone";
    ASSERT_TRUE(p.waiter.wait([&] { return got.over(); }, 30s));
    std::lock_guard lock(m);
    for (auto& r : receivers) EXPECT_TRUE(r->finish(5s));
}

// A malformed text message ends the transfer, and is counted; nothing is kept.
TEST(FileTransfer, MalformedHeaderIsCountedAndEndsTheTransfer) {
    TempDir dir("malformed");
    Pair p;
    Outcome got;
    std::shared_ptr<transfer::FileReceiver> receiver;
    auto raw = *p.side[0].pc->createDataChannel("file");
    raw->setCallbacks({.onOpen = [raw] { raw->send(R"({"type":"file","name":"x","size":-1})"); },
                       .onMessage = {},
                       .onClose = {},
                       .onBufferedAmountLow = {}});
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> ch) {
        receiver =
            transfer::FileReceiver::start(ch, {.directory = dir.path / "out"}, track(p, got));
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return got.over(); }, 30s));
    EXPECT_NE(got.error.find("size"), std::string::npos) << got.error;
    EXPECT_EQ(receiver->counters().malformedMessages, 1u);
    EXPECT_TRUE(fs::is_empty(dir.path / "out"));
}

// Time comes from the caller: a clock that never moves gives a transfer of zero seconds.
TEST(FileTransfer, UsesTheInjectedClock) {
    TempDir dir("clock");
    writeRandom(dir.path / "t.bin", 2 << 20, 6);
    Pair p;
    Outcome sent, got;
    std::shared_ptr<transfer::FileReceiver> receiver;
    Timestamp frozen = Timestamp{} + 1000s;
    auto sender =
        transfer::FileSender::start(*p.side[0].pc->createDataChannel("file"), dir.path / "t.bin",
                                    track(p, sent), {.clock = [frozen] { return frozen; }});
    ASSERT_TRUE(sender);
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> ch) {
        receiver = transfer::FileReceiver::start(
            ch, {.directory = dir.path / "out", .clock = [frozen] { return frozen; }},
            track(p, got));
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return sent.over() && got.over(); }, 30s));
    ASSERT_TRUE(sent.done) << sent.error;
    ASSERT_TRUE(got.done) << got.error;
    EXPECT_EQ(sent.done->seconds, 0.0);
    EXPECT_EQ(got.done->seconds, 0.0);
}

TEST(FileTransfer, SanitizesSuggestedNames) {
    using transfer::sanitizeName;
    EXPECT_EQ(sanitizeName("report.pdf"), "report.pdf");
    EXPECT_EQ(sanitizeName("../../etc/passwd"), "passwd");
    EXPECT_EQ(sanitizeName("C:\\Windows\\evil.exe"), "evil.exe");
    EXPECT_EQ(sanitizeName(".bashrc"), "bashrc");
    EXPECT_EQ(sanitizeName(".."), "file");
    EXPECT_EQ(sanitizeName(""), "file");
    EXPECT_EQ(sanitizeName(std::string("a\nb\x01"
                                       "c")),
              "abc");
    EXPECT_EQ(sanitizeName("dir/"), "file");
    EXPECT_EQ(transfer::FileReceiver::sanitizeName("x/y.txt"), "y.txt");
}

// Issue 8 row 5: C1 controls and bidi overrides, isolates and marks are dropped like C0.
TEST(FileTransfer, DropsC1ControlsAndBidiCharacters) {
    using transfer::sanitizeName;
    EXPECT_EQ(sanitizeName("a\u009Bb\u0085c.txt"), "abc.txt");
    EXPECT_EQ(sanitizeName("invoice\u202Egpj.exe"), "invoicegpj.exe");
    EXPECT_EQ(sanitizeName("\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069\u200E\u200Fx"), "x");
    EXPECT_EQ(sanitizeName("\u0080\u009F"), "file");
    // Ordinary non-ASCII letters stay.
    EXPECT_EQ(sanitizeName("résumé – 日本.pdf"), "résumé – 日本.pdf");
}

// Issue 8 row 6: a long non-ASCII name is cut on a character boundary; bad UTF-8 is replaced.
TEST(FileTransfer, CutsLongNamesOnACharacterBoundary) {
    using transfer::sanitizeName;
    std::string longName;
    for (int i = 0; i < 5000; ++i) longName += "é";  // 2 bytes each: 201 bytes would split one
    longName += ".txt";
    std::string cut = sanitizeName(longName);
    EXPECT_LE(cut.size(), transfer::kMaxNameBytes);
    EXPECT_GE(cut.size(), transfer::kMaxNameBytes - 3);
    EXPECT_TRUE(transfer::isValidUtf8(cut));
    EXPECT_TRUE(cut.ends_with("é.txt"));
    std::string cjk;
    for (int i = 0; i < 5000; ++i) cjk += "日";  // 3 bytes each, no extension
    cut = sanitizeName(cjk);
    EXPECT_EQ(cut.size(), 198u);
    EXPECT_TRUE(transfer::isValidUtf8(cut));
    std::string bad = sanitizeName("a\xff\xfe b\xc3.txt");
    EXPECT_TRUE(transfer::isValidUtf8(bad));
    EXPECT_EQ(bad, "a\uFFFD\uFFFD b\uFFFD.txt");
    EXPECT_FALSE(transfer::isValidUtf8("\xc0\xaf"));         // overlong '/'
    EXPECT_FALSE(transfer::isValidUtf8("\xed\xa0\x80"));     // a surrogate
    EXPECT_TRUE(transfer::isValidUtf8("\xf0\x9f\x98\x80"));  // U+1F600
}

// Issue 8 row 8: a folder that cannot be written is refused up front.
TEST(FileTransfer, ChecksThatTheFolderIsWritable) {
    TempDir dir("writable");
    EXPECT_TRUE(transfer::checkWritableDirectory(dir.path / "out"));
    EXPECT_TRUE(transfer::checkWritableDirectory(dir.path / "new" / "sub"));  // created
    EXPECT_TRUE(fs::is_directory(dir.path / "new" / "sub"));
    EXPECT_TRUE(fs::is_empty(dir.path / "out"));  // the probe file is gone
    std::ofstream(dir.path / "afile") << "x";
    auto underFile = transfer::checkWritableDirectory(dir.path / "afile" / "sub");
    EXPECT_FALSE(underFile);
    // Even root cannot create files in /proc/self.
    auto proc = transfer::checkWritableDirectory("/proc/self");
    ASSERT_FALSE(proc);
    EXPECT_NE(proc.message().find("cannot write"), std::string::npos) << proc.message();
    if (::geteuid() != 0) {  // permission bits bind everyone but root
        fs::create_directories(dir.path / "ro");
        ::chmod((dir.path / "ro").c_str(), 0555);
        EXPECT_FALSE(transfer::checkWritableDirectory(dir.path / "ro"));
        ::chmod((dir.path / "ro").c_str(), 0755);
    }
}

TEST(FileTransfer, PartialFilesAreClaimedOncePerTransfer) {
    TempDir dir("claim");
    auto a = transfer::PartialFile::claim(dir.path, "n.bin", 10);
    auto b = transfer::PartialFile::claim(dir.path, "n.bin", 10);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->path().filename(), partName("n.bin", 10));
    EXPECT_EQ(b->path().filename(), ".n.bin.10.1.tincan-part");
    a->release(true);
    auto c = transfer::PartialFile::claim(dir.path, "n.bin", 10);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->path().filename(), partName("n.bin", 10));
    // The final name is never replaced.
    std::ofstream(dir.path / "n.bin") << "acknowledged";
    auto moved = transfer::moveIntoPlace(c->path(), dir.path, "n.bin", false);
    ASSERT_TRUE(moved) << moved.message();
    EXPECT_EQ(moved->filename(), "n (1).bin");
    EXPECT_EQ(slurp(dir.path / "n.bin"), "acknowledged");
}

TEST(FileTransferMessages, ParsesEveryMessageOfTheContract) {
    using namespace transfer;
    auto h = parseMessage(
        R"({"type":"file","name":"report.pdf","size":1048576,"mime":"application/pdf"})");
    ASSERT_TRUE(h) << h.message();
    auto& header = std::get<FileHeader>(*h);
    EXPECT_EQ(header.name, "report.pdf");
    EXPECT_EQ(header.size, 1048576u);
    EXPECT_EQ(header.mime, "application/pdf");
    EXPECT_EQ(std::get<AcceptMessage>(*parseMessage(R"({"type":"accept","offset":7})")).offset, 7u);
    EXPECT_EQ(std::get<AcceptMessage>(*parseMessage(R"({"type":"accept"})")).offset, 0u);
    EXPECT_EQ(
        std::get<RejectMessage>(*parseMessage(R"({"type":"reject","reason":"no\u009b"})")).reason,
        "no");
    std::string hex(64, 'A');
    auto eof = parseMessage(R"({"type":"eof","sha256":")" + hex + "\"}");
    ASSERT_TRUE(eof);
    EXPECT_EQ(std::get<EofMessage>(*eof).sha256, std::string(64, 'a'));
    auto ack = parseMessage(R"({"type":"ack","ok":true,"sha256":")" + hex + "\"}");
    ASSERT_TRUE(ack);
    EXPECT_TRUE(std::get<AckMessage>(*ack).ok);
    // Round trip.
    auto again = parseMessage(serialize(*h));
    ASSERT_TRUE(again);
    EXPECT_EQ(std::get<FileHeader>(*again).name, "report.pdf");
}

TEST(FileTransferMessages, RefusesMalformedMessagesWithAReason) {
    using transfer::parseMessage;
    for (const char* text :
         {"", "not json", "[]", "{}", R"({"type":1})", R"({"type":"file","size":1})",
          R"({"type":"file","name":"a","size":-1})", R"({"type":"file","name":"a","size":1.5})",
          R"({"type":"file","name":7,"size":1})", R"({"type":"accept","offset":"0"})",
          R"({"type":"eof","sha256":"abc"})", R"({"type":"ack","ok":"yes"})", R"({"type":"ack"})",
          R"({"type":"bogus"})"}) {
        auto m = parseMessage(text);
        EXPECT_FALSE(m) << text;
        if (!m) {
            EXPECT_FALSE(m.message().empty());
        }
    }
}

TEST(FileTransferProgress, SpeedAndTimeLeftFromTheCallersClock) {
    Timestamp t0{};
    transfer::ProgressMeter meter("x", 2000000, 0, t0);
    auto p = meter.update(0, t0);
    EXPECT_EQ(p.bytesPerSecond, 0);
    EXPECT_FALSE(p.secondsLeft);
    // 100 kB/s for two seconds.
    for (int ms = 100; ms <= 2000; ms += 100)
        p = meter.update(uint64_t(ms) * 100, t0 + std::chrono::milliseconds(ms));
    EXPECT_NEAR(p.bytesPerSecond, 100000, 1);
    ASSERT_TRUE(p.secondsLeft);
    EXPECT_NEAR(*p.secondsLeft, 18.0, 0.01);
    // The speed follows a change within the window (3 s): 300 kB/s from then on.
    uint64_t bytes = 200000;
    for (int ms = 2100; ms <= 6000; ms += 100) {
        bytes += 30000;
        p = meter.update(bytes, t0 + std::chrono::milliseconds(ms));
    }
    EXPECT_NEAR(p.bytesPerSecond, 300000, 15000);
    p = meter.update(2000000, t0 + 7s);
    EXPECT_EQ(p.secondsLeft, 0.0);
    EXPECT_EQ(p.bytes, 2000000u);
    EXPECT_EQ(p.name, "x");
}
