// FILE_TRANSFER.md sender and receiver over two real PeerConnections on loopback.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "../core/pc/pc_pair.hpp"
#include "transfer/file_transfer.hpp"

using namespace tincan;
using namespace tincan::test;
using namespace std::chrono_literals;

TEST(FileTransfer, StreamsVerifiesAndResumes) {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("tincan-ft-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "out");
    fs::path src = dir / "data.bin";
    {
        std::ofstream f(src, std::ios::binary);
        std::mt19937 rng(3);
        std::vector<char> block(1 << 20);
        for (int i = 0; i < 8; ++i) {
            for (auto& c : block) c = char(rng());
            f.write(block.data(), block.size());
        }
    }
    // A partial download of the same file (same name and size) is resumed from its end.
    {
        std::ifstream in(src, std::ios::binary);
        std::vector<char> head(3 << 20);
        in.read(head.data(), head.size());
        std::ofstream part(dir / "out" / (".data.bin." + std::to_string(8 << 20) + ".tincan-part"), std::ios::binary);
        part.write(head.data(), head.size());
    }
    Pair p;
    std::shared_ptr<transfer::FileReceiver> receiver;
    std::optional<transfer::Done> sent, got;
    std::string error;
    auto ch = *p.side[0].pc->createDataChannel("file");
    auto sender = transfer::FileSender::start(ch, src,
                                              {.onProgress = {},
                                               .onDone =
                                                   [&](const transfer::Done& d) {
                                                       std::lock_guard lock(p.waiter.mutex());
                                                       sent = d;
                                                       p.waiter.notify();
                                                   },
                                               .onError =
                                                   [&](const std::string& e) {
                                                       std::lock_guard lock(p.waiter.mutex());
                                                       error = e;
                                                       p.waiter.notify();
                                                   }},
                                              &error);
    ASSERT_TRUE(sender) << error;
    p.side[1].onRemoteChannel = [&](std::shared_ptr<DataChannel> remote) {
        receiver = transfer::FileReceiver::start(remote, {.directory = dir / "out"},
                                                 {.onProgress = {},
                                                  .onDone =
                                                      [&](const transfer::Done& d) {
                                                          std::lock_guard lock(p.waiter.mutex());
                                                          got = d;
                                                          p.waiter.notify();
                                                      },
                                                  .onError =
                                                      [&](const std::string& e) {
                                                          std::lock_guard lock(p.waiter.mutex());
                                                          error = e;
                                                          p.waiter.notify();
                                                      }});
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return (sent && got) || !error.empty(); }, 30s)) << error;
    ASSERT_TRUE(error.empty()) << error;
    EXPECT_EQ(sent->sha256, got->sha256);
    EXPECT_EQ(got->resumedFrom, 3u << 20);
    EXPECT_EQ(fs::file_size(dir / "out" / "data.bin"), 8u << 20);
    EXPECT_FALSE(fs::exists(dir / "out" / (".data.bin." + std::to_string(8 << 20) + ".tincan-part")));
    fs::remove_all(dir);
}

TEST(FileTransfer, SanitizesSuggestedNames) {
    using transfer::FileReceiver;
    EXPECT_EQ(FileReceiver::sanitizeName("report.pdf"), "report.pdf");
    EXPECT_EQ(FileReceiver::sanitizeName("../../etc/passwd"), "passwd");
    EXPECT_EQ(FileReceiver::sanitizeName("C:\\Windows\\evil.exe"), "evil.exe");
    EXPECT_EQ(FileReceiver::sanitizeName(".bashrc"), "bashrc");
    EXPECT_EQ(FileReceiver::sanitizeName(".."), "file");
    EXPECT_EQ(FileReceiver::sanitizeName(""), "file");
    EXPECT_EQ(FileReceiver::sanitizeName(std::string("a\nb\x01" "c")), "abc");
    EXPECT_EQ(FileReceiver::sanitizeName("dir/"), "file");
}
