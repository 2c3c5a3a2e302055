#include "transfer/file_transfer.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/common/bytes.hpp"

namespace tincan::transfer {

namespace fs = std::filesystem;

class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(ByteView data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
    std::string hex() {
        uint8_t out[32];
        unsigned len = 0;
        EVP_DigestFinal_ex(ctx_, out, &len);
        return toHex(ByteView(out, len));
    }

private:
    EVP_MD_CTX* ctx_;
};

namespace {

// FILE_TRANSFER.md allows up to 64 KiB per chunk; we send 16 KiB. The receiver sees a chunk only
// once all of it has arrived (one SCTP message), so on a slow path a big chunk means seconds
// without progress: 64 KiB at 0.15 MB/s (5 % loss at 100 ms) is 0.4 s per chunk, more behind a
// lost packet (longest gaps 0.65-1.0 s there with 64 KiB chunks, 0.55-0.6 s with 16 KiB). On
// fast paths the size costs nothing measurable (loopback 1 GiB, the WAN lab at 0 and 50 ms:
// docs/BENCHMARKS.md).
constexpr size_t kChunk = 16 * 1024;
constexpr size_t kWakeBytes = 512 * 1024;

double secondsBetween(Timestamp from, Timestamp to) {
    return std::chrono::duration<double>(to - from).count();
}

// Reads and hashes the first `n` bytes of a file (a resumed transfer's prefix).
bool hashPrefix(int fd, uint64_t n, Sha256& hash) {
    std::vector<uint8_t> buf(kChunk);
    uint64_t at = 0;
    while (at < n) {
        size_t want = size_t(std::min<uint64_t>(n - at, buf.size()));
        ssize_t got = ::pread(fd, buf.data(), want, off_t(at));
        if (got <= 0) {
            if (got < 0 && errno == EINTR) continue;
            return false;
        }
        hash.update(ByteView(buf.data(), size_t(got)));
        at += uint64_t(got);
    }
    return true;
}

bool writeAll(int fd, ByteView data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data = data.subspan(size_t(n));
    }
    return true;
}

}  // namespace

// ==================================================================== the worker

TransferBase::~TransferBase() {
    if (!worker_.joinable()) return;
    // The worker holds a reference until it ends, so it is over unless this runs on it.
    if (worker_.get_id() == std::this_thread::get_id())
        worker_.detach();
    else
        worker_.join();
}

void TransferBase::startWorker(std::shared_ptr<TransferBase> self) {
    worker_ = std::thread([this, self = std::move(self)]() mutable { run(std::move(self)); });
}

void TransferBase::run(std::shared_ptr<TransferBase> self) {
    for (bool going = true; going;) {
        std::optional<Job> job;
        {
            std::lock_guard lock(mutex_);
            if (!jobs_.empty()) {
                job = std::move(jobs_.front());
                jobs_.pop_front();
                if (auto* d = std::get_if<Data>(&*job)) queuedBytes_ -= d->bytes.size();
            }
        }
        if (job) {
            spaceCv_.notify_all();
            going = handle(*job);
            continue;
        }
        bool idle = false;
        going = work(idle);
        if (going && idle) {
            std::unique_lock lock(mutex_);
            // The timeout only guards against a lost bufferedAmountLow; jobs and wake() notify.
            workCv_.wait_for(lock, 50ms, [&] { return !jobs_.empty() || woken_; });
            woken_ = false;
        }
    }
    {
        std::lock_guard lock(mutex_);
        over_ = true;
        jobs_.clear();
        queuedBytes_ = 0;
    }
    spaceCv_.notify_all();
    self.reset();  // may run the destructor, here on this thread
}

void TransferBase::post(Job job) {
    {
        std::lock_guard lock(mutex_);
        if (over_) return;
        jobs_.push_back(std::move(job));
    }
    workCv_.notify_one();
}

void TransferBase::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    workCv_.notify_one();
}

void TransferBase::postText(ByteView text) {
    auto msg = parseMessage(asString(text));
    if (!msg) {
        malformed_++;
        return post(Abort{msg.message(), false});
    }
    post(std::move(*msg));
}

void TransferBase::cancel() {
    cancelled_ = true;
    post(Abort{"cancelled", true});
    if (channel_) channel_->close();
}

bool TransferBase::finish(Duration timeout) {
    if (!worker_.joinable() || worker_.get_id() == std::this_thread::get_id()) return false;
    auto over = [&] {
        std::unique_lock lock(mutex_);
        return spaceCv_.wait_for(lock, timeout, [&] { return over_; });
    };
    if (!over()) {
        cancel();
        if (!over()) return false;
    }
    worker_.join();  // it only has to return from run() now
    return true;
}

Progress TransferBase::progress() const {
    std::lock_guard lock(mutex_);
    return progress_;
}

TransferCounters TransferBase::counters() const {
    return TransferCounters{malformed_.load(), protocolErrors_.load(), queueFullWaits_.load()};
}

void TransferBase::publish(const Progress& p, bool force, Duration interval, Timestamp now) {
    {
        std::lock_guard lock(mutex_);
        progress_ = p;
    }
    if (!force && now - lastProgress_ < interval) return;
    lastProgress_ = now;
    if (callbacks_.onProgress) callbacks_.onProgress(p);
}

// ==================================================================== sender

Result<std::shared_ptr<FileSender>> FileSender::start(std::shared_ptr<DataChannel> channel,
                                                      fs::path file, Callbacks callbacks,
                                                      SenderOptions options) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) ::close(fd);
        return Error{file.string() + ": not a readable regular file"};
    }
    std::shared_ptr<FileSender> s(new FileSender());
    s->fd_ = fd;
    s->size_ = uint64_t(st.st_size);
    s->channel_ = std::move(channel);
    s->path_ = file;
    s->name_ = toValidUtf8(file.filename().string());
    s->callbacks_ = std::move(callbacks);
    s->options_ = std::move(options);
    s->progress_ = Progress{s->name_, 0, s->size_, 0, std::nullopt};
    std::weak_ptr<FileSender> weak = s;
    s->channel_->setBufferedAmountLowThreshold(s->options_.lowWater);
    auto onOpen = [weak] {
        auto p = weak.lock();
        // Once: the channel may open between setCallbacks() and the state check below.
        if (!p || p->opened_.exchange(true)) return;
        p->post(Open{});
        // The header needs no disk: send it at once (FILE_TRANSFER.md step 1).
        p->channel_->send(serialize(FileHeader{p->name_, p->size_, "application/octet-stream"}));
    };
    s->channel_->setCallbacks(DataChannel::Callbacks{
        .onOpen = onOpen,
        .onMessage =
            [weak](ByteView d, bool binary) {
                auto p = weak.lock();
                if (!p) return;
                if (!binary) return p->postText(d);
                p->protocolError();
                p->post(Abort{"the receiver sent binary data", false});
            },
        .onClose =
            [weak] {
                if (auto p = weak.lock()) p->post(Closed{});
            },
        .onBufferedAmountLow =
            [weak] {
                if (auto p = weak.lock()) p->wake();
            },
    });
    s->startWorker(s);
    if (s->channel_->state() == DataChannelState::Open) onOpen();
    return s;
}

FileSender::~FileSender() {
    if (fd_ >= 0) ::close(fd_);
}

bool FileSender::fail(const std::string& why) {
    step_ = Step::Failed;
    if (callbacks_.onError) callbacks_.onError(cancelled_ ? "cancelled" : why);
    channel_->close();
    return false;
}

bool FileSender::handle(Job& job) {
    if (std::holds_alternative<Open>(job)) {
        if (step_ == Step::WaitOpen) {
            step_ = Step::WaitAccept;
            if (callbacks_.onOpen) callbacks_.onOpen();
        }
        return true;
    }
    if (std::holds_alternative<Closed>(job))
        return fail("the channel closed before the receiver acknowledged the file");
    if (auto* a = std::get_if<Abort>(&job)) return fail(a->reason);
    auto* msg = std::get_if<Message>(&job);
    if (!msg) return true;
    if (auto* r = std::get_if<RejectMessage>(msg); r && step_ == Step::WaitAccept)
        return fail("the receiver rejected " + name_ + ": " + r->reason);
    if (auto* a = std::get_if<AcceptMessage>(msg); a && step_ == Step::WaitAccept) {
        if (a->offset > size_) {
            protocolError();
            return fail("the receiver asked to resume past the end of the file");
        }
        hash_ = std::make_unique<Sha256>();
        if (!hashPrefix(fd_, a->offset, *hash_)) return fail(path_.string() + ": read error");
        offset_ = sent_ = a->offset;
        buffer_.resize(std::min(kChunk, channel_->maxMessageSize()));
        step_ = Step::Streaming;
        started_ = options_.clock();
        meter_.emplace(name_, size_, sent_, started_);
        publish(meter_->last(), true, options_.progressInterval, started_);
        return true;
    }
    if (auto* a = std::get_if<AckMessage>(msg); a && step_ == Step::WaitAck) {
        if (!a->ok || a->sha256 != digest_)
            return fail("the receiver reports a checksum mismatch for " + name_);
        step_ = Step::Done;
        Timestamp now = options_.clock();
        publish(meter_->update(size_, now), true, options_.progressInterval, now);
        if (callbacks_.onDone)
            callbacks_.onDone(
                Done{name_, path_, size_, digest_, secondsBetween(started_, now), offset_});
        channel_->close();  // FILE_TRANSFER.md step 6
        return false;
    }
    protocolError();
    return fail("an unexpected message from the receiver");
}

bool FileSender::work(bool& idle) {
    idle = step_ != Step::Streaming || channel_->bufferedAmount() >= options_.highWater;
    if (idle) return true;
    return sendNextChunk();
}

bool FileSender::sendNextChunk() {
    ssize_t n = ::pread(fd_, buffer_.data(), buffer_.size(), off_t(sent_));
    if (n < 0) {
        if (errno == EINTR) return true;
        return fail(path_.string() + ": read error (" + std::strerror(errno) + ")");
    }
    if (n == 0) {
        if (sent_ != size_) return fail(path_.string() + " changed size while it was being sent");
        digest_ = hash_->hex();
        step_ = Step::WaitAck;
        channel_->send(serialize(EofMessage{digest_}));
        Timestamp now = options_.clock();
        publish(meter_->update(sent_, now), true, options_.progressInterval, now);
        return true;
    }
    if (sent_ + uint64_t(n) > size_)
        return fail(path_.string() + " changed size while it was being sent");
    ByteView chunk(buffer_.data(), size_t(n));
    hash_->update(chunk);
    if (!channel_->sendBinary(chunk)) return fail("the channel closed while sending " + name_);
    sent_ += uint64_t(n);
    Timestamp now = options_.clock();
    publish(meter_->update(sent_, now), false, options_.progressInterval, now);
    return true;
}

// ==================================================================== receiver

std::shared_ptr<FileReceiver> FileReceiver::start(std::shared_ptr<DataChannel> channel,
                                                  ReceiverOptions options, Callbacks callbacks) {
    std::shared_ptr<FileReceiver> r(new FileReceiver());
    r->channel_ = std::move(channel);
    r->options_ = std::move(options);
    r->callbacks_ = std::move(callbacks);
    std::weak_ptr<FileReceiver> weak = r;
    r->channel_->setCallbacks(DataChannel::Callbacks{
        .onOpen = {},
        .onMessage =
            [weak](ByteView d, bool binary) {
                if (auto p = weak.lock()) p->onMessage(d, binary);
            },
        .onClose =
            [weak] {
                if (auto p = weak.lock()) p->post(Closed{});
            },
        .onBufferedAmountLow = {},
    });
    r->startWorker(r);
    return r;
}

FileReceiver::~FileReceiver() = default;

void FileReceiver::accept() {
    post(Decision{true, {}});
}

void FileReceiver::reject(const std::string& reason) {
    post(Decision{false, reason});
}

void FileReceiver::netFail(const std::string& why) {
    net_ = Net::Over;
    protocolError();
    post(Abort{why, false});
}

void FileReceiver::onMessage(ByteView data, bool binary) {
    switch (net_.load()) {
        case Net::WaitHeader:
            if (binary) return netFail("file data arrived before the file header");
            net_ = Net::Offered;
            return postText(data);  // the worker checks that it is a header
        case Net::Offered:
            return netFail("a message arrived before the file was accepted");
        case Net::Receiving:
            if (!binary) {
                net_ = Net::AfterEof;
                return postText(data);  // the worker checks that it is an eof
            }
            if (data.size() > expected_.load() - arrived_)
                return netFail("the sender sent more bytes than it announced");
            arrived_ += data.size();
            return queueData(data);
        case Net::AfterEof:
            return netFail("a message arrived after eof");
        case Net::Over:
            return;
    }
}

void FileReceiver::queueData(ByteView data) {
    bool wake = false;
    {
        // The only wait on the network thread: when the disk is maxQueuedBytes behind.
        std::unique_lock lock(mutex_);
        if (queuedBytes_ >= options_.maxQueuedBytes && !over_) {
            queueFullWaits_++;
            spaceCv_.wait(lock, [&] { return queuedBytes_ < options_.maxQueuedBytes || over_; });
        }
        if (over_) return;
        // Wake the worker once per batch, not per chunk: a wake-up per 64 KiB cost
        // more CPU than the write. A short burst waits at most the worker's 50 ms nap.
        size_t batch = std::min(kWakeBytes, options_.maxQueuedBytes / 2);
        wake = queuedBytes_ < batch && queuedBytes_ + data.size() >= batch;
        queuedBytes_ += data.size();
        jobs_.push_back(Data{Bytes(data.begin(), data.end())});
    }
    if (wake) workCv_.notify_one();
}

bool FileReceiver::fail(const std::string& why, bool keepPartial) {
    step_ = Step::Failed;
    net_ = Net::Over;
    // An empty partial file is no use for a resume.
    bool keep = keepPartial && options_.keepPartial && received_ > 0;
    partial_.release(!keep);
    if (callbacks_.onError) callbacks_.onError(cancelled_ ? "cancelled" : why);
    channel_->close();
    return false;
}

bool FileReceiver::handle(Job& job) {
    if (std::holds_alternative<Open>(job)) return true;
    if (std::holds_alternative<Closed>(job)) {
        if (step_ == Step::WaitHeader)
            return fail("the channel closed before a file header arrived", false);
        return fail("the sender closed the channel after " + std::to_string(received_) + " of " +
                        std::to_string(header_.size) + " bytes" +
                        (options_.keepPartial && received_ > 0 ? " (kept for a later resume)" : ""),
                    true);
    }
    if (auto* a = std::get_if<Abort>(&job)) return fail(a->reason, a->keepPartial);
    if (auto* d = std::get_if<Decision>(&job))
        return step_ == Step::Deciding ? onDecision(*d) : true;
    if (auto* data = std::get_if<Data>(&job)) {
        if (step_ != Step::Receiving) return true;
        if (!writeAll(partial_.fd(), data->bytes))
            return fail(partial_.path().string() + ": write error (" + std::strerror(errno) + ")",
                        true);
        hash_->update(data->bytes);
        received_ += data->bytes.size();
        Timestamp now = options_.clock();
        publish(meter_->update(received_, now), false, options_.progressInterval, now);
        return true;
    }
    auto* msg = std::get_if<Message>(&job);
    if (!msg) return true;
    if (auto* h = std::get_if<FileHeader>(msg); h && step_ == Step::WaitHeader) return onHeader(*h);
    if (auto* e = std::get_if<EofMessage>(msg); e && step_ == Step::Receiving) return onEof(*e);
    protocolError();
    return fail(step_ == Step::WaitHeader ? "the first message is not a file header"
                                          : "an unexpected text message during the transfer",
                false);
}

bool FileReceiver::onHeader(const FileHeader& h) {
    header_ = h;
    name_ = sanitizeName(h.name);
    {
        std::lock_guard lock(mutex_);
        progress_ = Progress{name_, 0, h.size, 0, std::nullopt};
    }
    std::error_code ec;
    fs::create_directories(options_.directory, ec);
    auto claimed = PartialFile::claim(options_.directory, name_, h.size);
    if (!claimed) {
        channel_->send(serialize(RejectMessage{"cannot write to the destination folder"}));
        return fail(
            options_.directory.string() + ": cannot write there (" + claimed.message() + ")",
            false);
    }
    partial_ = std::move(*claimed);
    hash_ = std::make_unique<Sha256>();
    offset_ = partial_.existingBytes();
    if (offset_ > 0 && !hashPrefix(partial_.fd(), offset_, *hash_)) {
        hash_ = std::make_unique<Sha256>();
        offset_ = 0;
    }
    if (::ftruncate(partial_.fd(), off_t(offset_)) != 0 ||
        ::lseek(partial_.fd(), off_t(offset_), SEEK_SET) < 0)
        return fail(partial_.path().string() + ": " + std::strerror(errno), false);
    received_ = offset_;
    step_ = Step::Deciding;
    if (!callbacks_.onOffer) return onDecision(Decision{true, {}});
    callbacks_.onOffer(Offer{name_, h.name, h.size, h.mime, offset_});
    return true;
}

bool FileReceiver::onDecision(const Decision& d) {
    if (!d.accept) {
        std::string reason = d.reason.empty() ? "declined" : d.reason;
        channel_->send(serialize(RejectMessage{reason}));
        return fail("rejected " + name_ + ": " + reason, true);
    }
    step_ = Step::Receiving;
    started_ = options_.clock();
    meter_.emplace(name_, header_.size, offset_, started_);
    // Open the gate before the accept leaves: the first chunk may come right after it.
    expected_ = header_.size - offset_;
    net_ = Net::Receiving;
    channel_->send(serialize(AcceptMessage{offset_}));
    publish(meter_->last(), true, options_.progressInterval, started_);
    return true;
}

bool FileReceiver::onEof(const EofMessage& e) {
    if (received_ != header_.size)
        return fail("eof after " + std::to_string(received_) + " of " +
                        std::to_string(header_.size) + " bytes",
                    false);
    std::string mine = hash_->hex();
    bool synced = ::fsync(partial_.fd()) == 0;
    if (mine != e.sha256 || !synced) {
        channel_->send(serialize(AckMessage{false, mine}));
        return fail(synced ? "checksum mismatch for " + name_ + " (nothing kept)"
                           : partial_.path().string() + ": cannot flush to disk",
                    false);
    }
    // Moved while still locked, so no other transfer can claim this partial file meanwhile.
    auto final = moveIntoPlace(partial_.path(), options_.directory, name_, options_.overwrite);
    if (!final) {
        channel_->send(serialize(AckMessage{false, mine}));
        return fail("cannot move the file into place: " + final.message(), false);
    }
    partial_.release(false);
    step_ = Step::Done;
    net_ = Net::Over;
    Timestamp now = options_.clock();
    publish(meter_->update(received_, now), true, options_.progressInterval, now);
    // Our owner hears of the file before the sender does: the ack lets the sender hang up, and
    // an owner that counted the file only after that would take the hang-up for an early one.
    if (callbacks_.onDone)
        callbacks_.onDone(Done{final->filename().string(), *final, header_.size, mine,
                               secondsBetween(started_, now), offset_});
    channel_->send(serialize(AckMessage{true, mine}));
    return false;
}

}  // namespace tincan::transfer
