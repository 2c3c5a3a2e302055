// File transfer over a data channel (../shared/FILE_TRANSFER.md v1): one channel per file, a
// JSON header, accept/reject with a resume offset, binary chunks paced by bufferedAmount, an
// eof with the whole file's SHA-256, and an ack.
//
// Threads: the DataChannel callbacks (the network thread) only parse the small text messages
// and move buffers; every disk read, write, fsync and hash happens on a worker thread of the
// transfer's own, so a slow disk never holds up a connection's packets. Between the two:
//   sender:   worker reads + hashes a chunk, waits while bufferedAmount() ≥ highWater, sends it
//             (the channel's buffer is the bounded queue; onBufferedAmountLow wakes the worker);
//   receiver: the network thread copies each chunk into a queue bounded by maxQueuedBytes, the
//             worker writes + hashes it. If the disk falls that far behind, the network thread
//             waits for room (counted in queueFullWaits): SCTP's receive window then closes and
//             the sender slows to the disk's speed; memory stays bounded whatever the file size.
// Every Callbacks function runs on the worker thread. A transfer runs until it is done, fails
// or is cancelled, whether or not the caller keeps the pointer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/common/time.hpp"
#include "tincan/data_channel.hpp"
#include "tincan/result.hpp"
#include "transfer/disk.hpp"
#include "transfer/messages.hpp"
#include "transfer/progress.hpp"

namespace tincan::transfer {

struct Done {
    std::string name;  // as sent (sender) or as stored (receiver)
    std::filesystem::path path;
    uint64_t bytes = 0;
    std::string sha256;
    double seconds = 0;
    uint64_t resumedFrom = 0;
};

// What a receiver is offered, before any data flows.
struct Offer {
    std::string name;  // as it will be stored (sanitizeName), before a " (1)" is added
    std::string suggestedName;
    uint64_t size = 0;
    std::string mime;
    uint64_t resumeFrom = 0;  // bytes of an earlier partial download that will be kept
};

struct Callbacks {
    std::function<void()> onOpen{};  // the channel opened (sender)
    // Receiver: the sender's header arrived. Answer with FileReceiver::accept() or reject(),
    // now or later, from any thread. Unset: every file is accepted.
    std::function<void(const Offer&)> onOffer{};
    std::function<void(const Progress&)> onProgress{};  // at most every progressInterval
    // Sender: the receiver acknowledged the file. Receiver: the file is in place; the ack leaves
    // when this returns, so keep it short.
    std::function<void(const Done&)> onDone{};
    // Once, when the transfer ends without Done (cancel() included: "cancelled").
    std::function<void(const std::string& error)> onError{};
};

struct SenderOptions {
    Duration progressInterval = 250ms;
    size_t highWater = 4 * 1024 * 1024;  // the worker stops sending above this bufferedAmount
    size_t lowWater = 1024 * 1024;       // and is woken below it
    std::function<Timestamp()> clock = [] { return Clock::now(); };
};

struct ReceiverOptions {
    std::filesystem::path directory;
    bool overwrite = false;   // replace an existing file of the same name
    bool keepPartial = true;  // keep an interrupted download for a later resume
    Duration progressInterval = 250ms;
    size_t maxQueuedBytes = 4 * 1024 * 1024;  // received, not yet written
    std::function<Timestamp()> clock = [] { return Clock::now(); };
};

struct TransferCounters {
    uint64_t malformedMessages = 0;  // text messages parseMessage refused (each ends the transfer)
    uint64_t protocolErrors = 0;     // well-formed but out of place, or more bytes than announced
    uint64_t queueFullWaits = 0;     // receiver: the network thread waited for the disk
};

class Sha256;

// The machinery both ends share: the worker thread, its job queue, the counters.
class TransferBase {
public:
    virtual ~TransferBase();
    // Ends the transfer from any thread: FILE_TRANSFER.md has no cancel message, an abort is
    // the channel closing before the ack. onError("cancelled") follows on the worker.
    void cancel();
    // For the owner at exit (not the worker): waits up to `timeout` for the worker to be over,
    // then cancels a transfer that is still going and waits as long again, and joins the
    // worker. True when it has ended. Without it, a worker that ends after its owner let go
    // drops the last reference itself and is detached, and may still be running (and holding
    // the channel, the connection and OpenSSL's per-thread state) while the process exits.
    bool finish(Duration timeout);
    // The latest progress (any thread).
    Progress progress() const;
    TransferCounters counters() const;

protected:
    struct Open {};
    struct Closed {};
    struct Abort {
        std::string reason;
        bool keepPartial = false;
    };
    struct Decision {
        bool accept = false;
        std::string reason;
    };
    struct Data {
        Bytes bytes;
    };
    using Job = std::variant<Open, Closed, Abort, Decision, Message, Data>;

    TransferBase() = default;
    void startWorker(std::shared_ptr<TransferBase> self);
    // Control jobs never wait (the network thread must not).
    void post(Job job);
    // Network thread: parses a text message into a job, or aborts on a malformed one.
    void postText(ByteView text);
    // Worker side. Returns false when the transfer is over.
    virtual bool handle(Job& job) = 0;
    // Worker side, when no job is queued; returns false when the transfer is over. Sets
    // `idle` when there is nothing to do until a job comes or wake() is called.
    virtual bool work(bool& idle) {
        idle = true;
        return true;
    }
    void wake();
    void publish(const Progress& p, bool force, Duration interval, Timestamp now);
    void protocolError() { protocolErrors_++; }

    std::shared_ptr<DataChannel> channel_;
    Callbacks callbacks_;
    mutable std::mutex mutex_;
    std::condition_variable workCv_, spaceCv_;
    std::deque<Job> jobs_;
    size_t queuedBytes_ = 0;
    bool woken_ = false;
    bool over_ = false;  // the worker has finished: jobs are dropped, waits end
    Progress progress_;
    Timestamp lastProgress_{};
    std::atomic<uint64_t> malformed_{0}, protocolErrors_{0}, queueFullWaits_{0};
    // cancel() was called: whatever the worker then runs into (the channel it closes, most
    // likely, while a chunk is being sent) is reported as "cancelled".
    std::atomic<bool> cancelled_{false};

private:
    void run(std::shared_ptr<TransferBase> self);
    std::thread worker_;
};

// Sends one file. Create it right after createDataChannel("file").
class FileSender : public TransferBase {
public:
    static Result<std::shared_ptr<FileSender>> start(std::shared_ptr<DataChannel> channel,
                                                     std::filesystem::path file,
                                                     Callbacks callbacks,
                                                     SenderOptions options = {});
    ~FileSender() override;

private:
    FileSender() = default;
    bool handle(Job& job) override;
    bool work(bool& idle) override;
    bool fail(const std::string& why);
    bool sendNextChunk();

    SenderOptions options_;
    std::atomic<bool> opened_{false};
    std::filesystem::path path_;
    std::string name_;
    int fd_ = -1;
    uint64_t size_ = 0;
    uint64_t sent_ = 0;
    uint64_t offset_ = 0;
    std::unique_ptr<Sha256> hash_;
    std::string digest_;
    std::optional<ProgressMeter> meter_;
    std::vector<uint8_t> buffer_;
    enum class Step : uint8_t {
        WaitOpen = 1,
        WaitAccept,
        Streaming,
        WaitAck,
        Done,
        Failed
    } step_ = Step::WaitOpen;
    Timestamp started_{};
};

// Receives one file on a channel the peer opened with label "file".
class FileReceiver : public TransferBase {
public:
    static std::shared_ptr<FileReceiver> start(std::shared_ptr<DataChannel> channel,
                                               ReceiverOptions options, Callbacks callbacks);
    ~FileReceiver() override;

    // Answers Callbacks::onOffer (any thread). The reason goes to the sender in "reject".
    void accept();
    void reject(const std::string& reason);

    // Compatibility name for transfer::sanitizeName (messages.hpp).
    static std::string sanitizeName(std::string_view suggested) {
        return transfer::sanitizeName(suggested);
    }

private:
    FileReceiver() = default;
    void onMessage(ByteView data, bool binary);  // network thread
    void netFail(const std::string& why);        // network thread
    void queueData(ByteView data);               // network thread
    bool handle(Job& job) override;
    bool onHeader(const FileHeader& h);
    bool onDecision(const Decision& d);
    bool onEof(const EofMessage& e);
    bool fail(const std::string& why, bool keepPartial);

    ReceiverOptions options_;
    // Network thread only: what it lets through to the worker.
    enum class Net : uint8_t { WaitHeader = 1, Offered, Receiving, AfterEof, Over };
    std::atomic<Net> net_{Net::WaitHeader};
    std::atomic<uint64_t> expected_{0};  // bytes the sender may still send (size - offset)
    uint64_t arrived_ = 0;               // network thread's count of them

    // Worker only.
    FileHeader header_;
    std::string name_;
    PartialFile partial_;
    uint64_t received_ = 0;
    uint64_t offset_ = 0;
    std::unique_ptr<Sha256> hash_;
    std::optional<ProgressMeter> meter_;
    enum class Step : uint8_t {
        WaitHeader = 1,
        Deciding,
        Receiving,
        Done,
        Failed
    } step_ = Step::WaitHeader;
    Timestamp started_{};
};

}  // namespace tincan::transfer
