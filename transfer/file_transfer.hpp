// File transfer over a data channel (../shared/FILE_TRANSFER.md v1): one channel per file, a
// JSON header, accept/reject with a resume offset, binary chunks paced by bufferedAmount, an
// eof with the whole file's SHA-256, and an ack.
//
// Both ends stream from and to disk: memory stays bounded by the pacing window whatever the
// file size. They run on the network thread (DataChannel callbacks); disk I/O happens there in
// 64 KiB steps.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/common/time.hpp"
#include "tincan/peer_connection.hpp"

namespace tincan::transfer {

struct Progress {
    std::string name;
    uint64_t bytes = 0;  // transferred so far, including a resumed offset
    uint64_t size = 0;
};

struct Done {
    std::string name;       // as sent (sender) or as stored (receiver)
    std::filesystem::path path;
    uint64_t bytes = 0;
    std::string sha256;
    double seconds = 0;
    uint64_t resumedFrom = 0;
};

struct Callbacks {
    std::function<void()> onOpen;                     // the channel opened (sender)
    std::function<void(const Progress&)> onProgress;  // at most every progressInterval
    std::function<void(const Done&)> onDone;
    std::function<void(const std::string& error)> onError;
};

class Sha256;

// Sends one file. Create it right after createDataChannel("file").
class FileSender : public std::enable_shared_from_this<FileSender> {
public:
    static std::shared_ptr<FileSender> start(std::shared_ptr<DataChannel> channel, std::filesystem::path file,
                                             Callbacks callbacks, std::string* error);
    ~FileSender();

    Duration progressInterval = 250ms;
    size_t highWater = 4 * 1024 * 1024;  // stop queueing above this bufferedAmount
    size_t lowWater = 1024 * 1024;       // resume below it

private:
    FileSender() = default;
    void onOpen();
    void onMessage(ByteView data, bool binary);
    void pump();
    void fail(const std::string& why);
    void progress(bool force);

    std::shared_ptr<DataChannel> channel_;
    std::filesystem::path path_;
    std::string name_;
    Callbacks callbacks_;
    std::FILE* file_ = nullptr;
    uint64_t size_ = 0;
    uint64_t sent_ = 0;
    uint64_t offset_ = 0;
    std::unique_ptr<Sha256> hash_;
    std::string digest_;
    enum class Step : uint8_t { WaitOpen = 1, WaitAccept, Streaming, WaitAck, Done, Failed } step_ = Step::WaitOpen;
    Timestamp started_{};
    Timestamp lastProgress_{};
};

struct ReceiverOptions {
    std::filesystem::path directory;
    bool overwrite = false;       // replace an existing file of the same name
    bool keepPartial = true;      // keep an interrupted download for a later resume
};

// Receives one file on a channel the peer opened with label "file".
class FileReceiver : public std::enable_shared_from_this<FileReceiver> {
public:
    static std::shared_ptr<FileReceiver> start(std::shared_ptr<DataChannel> channel, ReceiverOptions options,
                                               Callbacks callbacks);
    ~FileReceiver();

    Duration progressInterval = 250ms;

    // The name a receiver keeps for a suggested one: base name only, no separators, no "..",
    // no leading dots, no control characters; empty input gives "file".
    static std::string sanitizeName(std::string_view suggested);

private:
    FileReceiver() = default;
    void onMessage(ByteView data, bool binary);
    void onClose();
    void onHeader(std::string_view text);
    void onEof(std::string_view text);
    void fail(const std::string& why, bool keepPartial);
    void progress(bool force);
    std::filesystem::path partialPath() const;

    std::shared_ptr<DataChannel> channel_;
    ReceiverOptions options_;
    Callbacks callbacks_;
    std::string name_;
    uint64_t size_ = 0;
    uint64_t received_ = 0;
    uint64_t offset_ = 0;
    std::FILE* file_ = nullptr;
    std::unique_ptr<Sha256> hash_;
    enum class Step : uint8_t { WaitHeader = 1, Receiving, Done, Failed } step_ = Step::WaitHeader;
    Timestamp started_{};
    Timestamp lastProgress_{};
};

}  // namespace tincan::transfer
