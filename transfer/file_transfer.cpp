#include "transfer/file_transfer.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/common/bytes.hpp"

namespace tincan::transfer {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
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

constexpr size_t kChunk = 64 * 1024;  // FILE_TRANSFER.md: at most 64 KiB per chunk

double secondsSince(Timestamp t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool isHex64(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

std::string lower(std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Reads and hashes the first `n` bytes of an open file (for a resumed transfer).
bool hashPrefix(std::FILE* f, uint64_t n, Sha256& hash) {
    std::vector<uint8_t> buf(kChunk);
    std::rewind(f);
    while (n > 0) {
        size_t want = size_t(std::min<uint64_t>(n, buf.size()));
        size_t got = std::fread(buf.data(), 1, want, f);
        if (got != want) return false;
        hash.update(ByteView(buf.data(), got));
        n -= got;
    }
    return true;
}

}  // namespace

// ==================================================================== sender

std::shared_ptr<FileSender> FileSender::start(std::shared_ptr<DataChannel> channel, fs::path file,
                                              Callbacks callbacks, std::string* error) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        if (error) *error = file.string() + ": not a readable regular file";
        return nullptr;
    }
    std::shared_ptr<FileSender> s(new FileSender());
    s->channel_ = std::move(channel);
    s->path_ = file;
    s->name_ = file.filename().string();
    s->callbacks_ = std::move(callbacks);
    s->size_ = fs::file_size(file, ec);
    s->file_ = std::fopen(file.c_str(), "rb");
    if (ec || !s->file_) {
        if (error) *error = file.string() + ": cannot open for reading";
        return nullptr;
    }
    std::weak_ptr<FileSender> weak = s;
    s->channel_->setBufferedAmountLowThreshold(s->lowWater);
    s->channel_->setCallbacks(DataChannel::Callbacks{
        .onOpen = [weak] { if (auto p = weak.lock()) p->onOpen(); },
        .onMessage = [weak](ByteView d, bool binary) { if (auto p = weak.lock()) p->onMessage(d, binary); },
        .onClose =
            [weak] {
                auto p = weak.lock();
                if (p && p->step_ != Step::Done && p->step_ != Step::Failed)
                    p->fail("the channel closed before the receiver acknowledged the file");
            },
        .onBufferedAmountLow = [weak] { if (auto p = weak.lock()) p->pump(); },
    });
    if (s->channel_->state() == DataChannelState::Open) s->onOpen();
    return s;
}

FileSender::~FileSender() {
    if (file_) std::fclose(file_);
}

void FileSender::onOpen() {
    if (step_ != Step::WaitOpen) return;
    step_ = Step::WaitAccept;
    if (callbacks_.onOpen) callbacks_.onOpen();
    Json header = {{"type", "file"}, {"name", name_}, {"size", size_}, {"mime", "application/octet-stream"}};
    channel_->send(header.dump());
}

void FileSender::onMessage(ByteView data, bool binary) {
    if (binary) return fail("the receiver sent binary data");
    Json msg = Json::parse(asString(data), nullptr, false);
    if (msg.is_discarded() || !msg.is_object() || !msg.contains("type") || !msg["type"].is_string())
        return fail("the receiver sent a malformed message");
    std::string type = msg["type"];
    if (step_ == Step::WaitAccept && type == "reject") {
        return fail("the receiver rejected " + name_ + ": " + msg.value("reason", std::string("no reason given")));
    }
    if (step_ == Step::WaitAccept && type == "accept") {
        uint64_t offset = msg.contains("offset") && msg["offset"].is_number_unsigned() ? msg["offset"].get<uint64_t>() : 0;
        if (offset > size_) return fail("the receiver asked to resume past the end of the file");
        hash_ = std::make_unique<Sha256>();
        if (!hashPrefix(file_, offset, *hash_)) return fail(path_.string() + ": read error");
        offset_ = sent_ = offset;
        step_ = Step::Streaming;
        started_ = lastProgress_ = Clock::now();
        progress(true);
        pump();
        return;
    }
    if (step_ == Step::WaitAck && type == "ack") {
        bool ok = msg.value("ok", false);
        std::string theirs = msg.contains("sha256") && msg["sha256"].is_string() ? msg["sha256"].get<std::string>() : "";
        if (!ok || lower(theirs) != digest_)
            return fail("the receiver reports a checksum mismatch for " + name_);
        step_ = Step::Done;
        progress(true);
        if (callbacks_.onDone)
            callbacks_.onDone(Done{name_, path_, size_, digest_, secondsSince(started_), offset_});
        channel_->close();
        return;
    }
    fail("unexpected '" + type + "' from the receiver");
}

void FileSender::pump() {
    if (step_ != Step::Streaming) return;
    std::vector<uint8_t> buf(std::min(kChunk, channel_->maxMessageSize()));
    while (step_ == Step::Streaming && channel_->bufferedAmount() < highWater) {
        size_t n = std::fread(buf.data(), 1, buf.size(), file_);
        if (n == 0) {
            if (std::ferror(file_)) return fail(path_.string() + ": read error");
            if (sent_ != size_) return fail(path_.string() + " changed size while it was being sent");
            digest_ = hash_->hex();
            step_ = Step::WaitAck;
            channel_->send(Json{{"type", "eof"}, {"sha256", digest_}}.dump());
            progress(true);
            return;
        }
        ByteView chunk(buf.data(), n);
        hash_->update(chunk);
        if (!channel_->sendBinary(chunk)) return fail("the channel closed while sending " + name_);
        sent_ += n;
        progress(false);
    }
}

void FileSender::progress(bool force) {
    auto now = Clock::now();
    if (!force && now - lastProgress_ < progressInterval) return;
    lastProgress_ = now;
    if (callbacks_.onProgress) callbacks_.onProgress(Progress{name_, sent_, size_});
}

void FileSender::fail(const std::string& why) {
    if (step_ == Step::Failed || step_ == Step::Done) return;
    step_ = Step::Failed;
    if (callbacks_.onError) callbacks_.onError(why);
    channel_->close();
}

// ==================================================================== receiver

std::string FileReceiver::sanitizeName(std::string_view suggested) {
    auto slash = suggested.find_last_of("/\\");
    if (slash != std::string_view::npos) suggested.remove_prefix(slash + 1);
    std::string out;
    for (char c : suggested) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) continue;
        out.push_back(c);
    }
    size_t start = 0;
    while (start < out.size() && (out[start] == '.' || out[start] == ' ')) ++start;
    out.erase(0, start);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (out.size() > 200) out.resize(200);
    if (out.empty()) out = "file";
    return out;
}

std::shared_ptr<FileReceiver> FileReceiver::start(std::shared_ptr<DataChannel> channel, ReceiverOptions options,
                                                  Callbacks callbacks) {
    std::shared_ptr<FileReceiver> r(new FileReceiver());
    r->channel_ = std::move(channel);
    r->options_ = std::move(options);
    r->callbacks_ = std::move(callbacks);
    std::weak_ptr<FileReceiver> weak = r;
    r->channel_->setCallbacks(DataChannel::Callbacks{
        .onOpen = {},
        .onMessage = [weak](ByteView d, bool binary) { if (auto p = weak.lock()) p->onMessage(d, binary); },
        .onClose = [weak] { if (auto p = weak.lock()) p->onClose(); },
        .onBufferedAmountLow = {},
    });
    return r;
}

FileReceiver::~FileReceiver() {
    if (file_) std::fclose(file_);
}

fs::path FileReceiver::partialPath() const {
    // Hidden, and keyed by name and size: FILE_TRANSFER.md resumes only the same file.
    return options_.directory / ("." + name_ + "." + std::to_string(size_) + ".tincan-part");
}

void FileReceiver::onMessage(ByteView data, bool binary) {
    if (step_ == Step::Done || step_ == Step::Failed) return;
    if (step_ == Step::WaitHeader) {
        if (binary) return fail("file data arrived before the file header", false);
        return onHeader(asString(data));
    }
    if (!binary) return onEof(asString(data));
    if (received_ + data.size() > size_)
        return fail("the sender sent more than the " + std::to_string(size_) + " bytes it announced", false);
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size())
        return fail(partialPath().string() + ": write error (disk full?)", true);
    hash_->update(data);
    received_ += data.size();
    progress(false);
}

void FileReceiver::onHeader(std::string_view text) {
    Json h = Json::parse(text, nullptr, false);
    if (h.is_discarded() || !h.is_object()) return fail("the file header is not a JSON object", false);
    if (h.value("type", std::string()) != "file") return fail("the first message is not a file header", false);
    if (!h.contains("name") || !h["name"].is_string()) return fail("the file header has no name", false);
    if (!h.contains("size") || !h["size"].is_number_unsigned()) return fail("the file header has no valid size", false);
    name_ = sanitizeName(h["name"].get<std::string>());
    size_ = h["size"].get<uint64_t>();
    std::error_code ec;
    fs::create_directories(options_.directory, ec);
    hash_ = std::make_unique<Sha256>();
    fs::path part = partialPath();
    if (fs::exists(part, ec) && fs::file_size(part, ec) <= size_) {
        file_ = std::fopen(part.c_str(), "r+b");
        if (file_) {
            offset_ = fs::file_size(part, ec);
            if (!hashPrefix(file_, offset_, *hash_)) {
                std::fclose(file_);
                file_ = nullptr;
                hash_ = std::make_unique<Sha256>();
                offset_ = 0;
            } else {
                std::fseek(file_, 0, SEEK_END);
            }
        }
    }
    if (!file_) {
        offset_ = 0;
        file_ = std::fopen(part.c_str(), "wb");
    }
    if (!file_) {
        channel_->send(Json{{"type", "reject"}, {"reason", "cannot write to the destination folder"}}.dump());
        return fail(options_.directory.string() + ": cannot write there", false);
    }
    received_ = offset_;
    step_ = Step::Receiving;
    started_ = lastProgress_ = Clock::now();
    channel_->send(Json{{"type", "accept"}, {"offset", offset_}}.dump());
    progress(true);
}

void FileReceiver::onEof(std::string_view text) {
    Json e = Json::parse(text, nullptr, false);
    if (e.is_discarded() || !e.is_object() || e.value("type", std::string()) != "eof")
        return fail("unexpected text message during the transfer", false);
    std::string theirs = e.contains("sha256") && e["sha256"].is_string() ? lower(e["sha256"].get<std::string>()) : "";
    if (!isHex64(theirs)) return fail("the eof message has no valid sha256", false);
    if (received_ != size_)
        return fail("eof after " + std::to_string(received_) + " of " + std::to_string(size_) + " bytes", false);
    std::string mine = hash_->hex();
    bool ok = mine == theirs && std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    std::fclose(file_);
    file_ = nullptr;
    if (!ok) {
        channel_->send(Json{{"type", "ack"}, {"ok", false}, {"sha256", mine}}.dump());
        return fail("checksum mismatch for " + name_ + " (nothing kept)", false);
    }
    // Never overwrite unless told to: "name (1).ext", "name (2).ext", ...
    fs::path final = options_.directory / name_;
    std::error_code ec;
    if (!options_.overwrite) {
        fs::path stem = fs::path(name_).stem(), ext = fs::path(name_).extension();
        for (int i = 1; fs::exists(final, ec); ++i)
            final = options_.directory / (stem.string() + " (" + std::to_string(i) + ")" + ext.string());
    }
    fs::rename(partialPath(), final, ec);
    if (ec) {
        channel_->send(Json{{"type", "ack"}, {"ok", false}, {"sha256", mine}}.dump());
        return fail("cannot move the file into place: " + ec.message(), false);
    }
    step_ = Step::Done;
    channel_->send(Json{{"type", "ack"}, {"ok", true}, {"sha256", mine}}.dump());
    progress(true);
    if (callbacks_.onDone) callbacks_.onDone(Done{final.filename().string(), final, size_, mine, secondsSince(started_), offset_});
}

void FileReceiver::onClose() {
    if (step_ == Step::Done || step_ == Step::Failed) return;
    if (step_ == Step::WaitHeader) return fail("the channel closed before a file header arrived", false);
    fail("the sender closed the channel after " + std::to_string(received_) + " of " + std::to_string(size_) +
             " bytes" + (options_.keepPartial ? " (kept for a later resume)" : ""),
         options_.keepPartial);
}

void FileReceiver::progress(bool force) {
    auto now = Clock::now();
    if (!force && now - lastProgress_ < progressInterval) return;
    lastProgress_ = now;
    if (callbacks_.onProgress) callbacks_.onProgress(Progress{name_, received_, size_});
}

void FileReceiver::fail(const std::string& why, bool keepPartial) {
    if (step_ == Step::Failed || step_ == Step::Done) return;
    bool hadPartial = step_ == Step::Receiving;
    step_ = Step::Failed;
    if (file_) {
        std::fclose(file_);
        file_ = nullptr;
    }
    if (hadPartial && !keepPartial) {
        std::error_code ec;
        fs::remove(partialPath(), ec);
    }
    if (callbacks_.onError) callbacks_.onError(why);
    channel_->close();
}

}  // namespace tincan::transfer
