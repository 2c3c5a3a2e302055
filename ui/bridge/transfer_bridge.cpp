#include "ui/bridge/transfer_bridge.hpp"

#include <QtConcurrent/QtConcurrentRun>

#include <future>

#include "transfer/file_transfer.hpp"

namespace tincan::ui {

struct TransferBridge::Item {
    bool outgoing = true;
    QString path;
    QString name;
    quint64 size = 0;
    bool started = false;
    bool over = false;
    int leg = 0;  // bumped by reopen(): a finished leg's late callbacks are ignored
    bool sawProgress = false;
    std::shared_ptr<DataChannel> channel;
    std::shared_ptr<transfer::FileSender> sender;
    std::shared_ptr<transfer::FileReceiver> receiver;
};

TransferBridge::TransferBridge(QObject* parent) : QObject(parent) {}

TransferBridge::~TransferBridge() {
    for (auto& [id, item] : items_)
        if (item->channel && !item->over) item->channel->close();
}

void TransferBridge::onQt(std::function<void()> fn) {
    QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

void TransferBridge::setDownloadFolder(const QString& folder) {
    std::lock_guard lock(folderMutex_);
    folder_ = folder.toStdString();
}

QString TransferBridge::storedName(const QString& suggested) {
    return QString::fromStdString(transfer::FileReceiver::sanitizeName(suggested.toStdString()));
}

int TransferBridge::addOutgoing(const QString& path, quint64 size) {
    int id = nextId_++;
    auto item = std::make_shared<Item>();
    item->path = path;
    item->name =
        QString::fromStdString(std::filesystem::path(path.toStdString()).filename().string());
    item->size = size;
    items_[id] = item;
    emit added(id, true, item->name, size);
    return id;
}

void TransferBridge::startSending(int id) {
    auto it = items_.find(id);
    if (it == items_.end() || it->second->started || it->second->over || !pc_) return;
    auto item = it->second;
    item->started = true;
    auto created = pc_->createDataChannel("file");
    if (!created) {
        item->over = true;
        emit failed(id, QString::fromStdString(created.message()));
        return;
    }
    item->channel = *created;
    const int leg = item->leg;
    // Qt thread: whether an event of leg `leg` still belongs to the row.
    auto current = [this, id, leg] {
        auto i = items_.find(id);
        return i != items_.end() && i->second->leg == leg && !i->second->over;
    };
    transfer::Callbacks cb;
    cb.onProgress = [this, id, current](const transfer::Progress& p) {
        onQt([this, id, p, current] {
            if (!current()) return;
            // The first event of a leg is sent when the receiver accepted: at its offset.
            auto& item = *items_[id];
            if (!item.sawProgress && p.bytes > 0) emit resumed(id, p.bytes, p.size);
            item.sawProgress = true;
            emit progress(id, p.bytes, p.size);
        });
    };
    cb.onDone = [this, id, current](const transfer::Done& d) {
        onQt([this, id, d, current] {
            if (!current()) return;
            items_[id]->over = true;
            if (d.resumedFrom > 0) emit resumed(id, d.resumedFrom, d.bytes);
            emit finished(id, QString::fromStdString(d.path.string()),
                          QString::fromStdString(d.sha256), d.seconds);
        });
    };
    cb.onError = [this, id, current](const std::string& e) {
        onQt([this, id, e, current] {
            if (!current()) return;  // e.g. cancel() already said so
            items_[id]->over = true;
            emit failed(id, QString::fromStdString(e));
        });
    };
    // start() opens the file: disk work, so on a worker, never on the UI thread.
    auto channel = item->channel;
    auto path = item->path.toStdString();
    (void)QtConcurrent::run([this, id, leg, channel, path, cb] {
        auto started = transfer::FileSender::start(channel, path, cb);
        std::shared_ptr<transfer::FileSender> sender = started ? *started : nullptr;
        std::string error = started ? std::string() : started.message();
        onQt([this, id, leg, sender, error] {
            auto i = items_.find(id);
            if (i == items_.end() || i->second->leg != leg) return;
            i->second->sender = sender;
            if (!sender) {
                i->second->over = true;
                i->second->channel->close();
                emit failed(id, QString::fromStdString(error));
            }
        });
    });
}

int TransferBridge::expectIncoming(const QString& name, quint64 size) {
    int id = nextId_++;
    auto item = std::make_shared<Item>();
    item->outgoing = false;
    item->name = storedName(name);
    item->size = size;
    items_[id] = item;
    emit added(id, false, item->name, size);
    return id;
}

// Qt thread: the row an incoming channel belongs to, by the file's stored name; a new row for
// a file nobody announced.
int TransferBridge::resolveIncoming(const std::string& name, quint64 size,
                                    const std::shared_ptr<DataChannel>& channel) {
    for (auto& [id, item] : items_) {
        if (item->channel == channel) return id;
    }
    QString stored = storedName(QString::fromStdString(name));
    for (auto& [id, item] : items_) {
        if (!item->outgoing && !item->started && item->name == stored) {
            item->started = true;
            item->channel = channel;
            return id;
        }
    }
    int id = expectIncoming(stored, size);
    items_[id]->started = true;
    items_[id]->channel = channel;
    return id;
}

void TransferBridge::takeIncoming(std::shared_ptr<DataChannel> channel) {
    transfer::ReceiverOptions options;
    {
        std::lock_guard lock(folderMutex_);
        options.directory = folder_;
    }
    // onOffer runs on the receiver's worker and answers through the receiver, which exists
    // only once start() returns: the future hands it over.
    auto self = std::make_shared<std::promise<std::weak_ptr<transfer::FileReceiver>>>();
    std::shared_future<std::weak_ptr<transfer::FileReceiver>> made = self->get_future().share();
    transfer::Callbacks cb;
    cb.onOffer = [this, channel, made](const transfer::Offer& offer) {
        // The person accepted over the message channel already ("file-answer"); what is new
        // here is whether a kept partial download is continued.
        if (offer.resumeFrom > 0)
            onQt([this, channel, offer] {
                emit resumed(resolveIncoming(offer.name, offer.size, channel), offer.resumeFrom,
                             offer.size);
            });
        if (auto r = made.get().lock()) r->accept();
    };
    cb.onProgress = [this, channel](const transfer::Progress& p) {
        onQt([this, channel, p] {
            emit progress(resolveIncoming(p.name, p.size, channel), p.bytes, p.size);
        });
    };
    cb.onDone = [this, channel](const transfer::Done& d) {
        onQt([this, channel, d] {
            int id = resolveIncoming(d.name, d.bytes, channel);
            items_[id]->over = true;
            emit finished(id, QString::fromStdString(d.path.string()),
                          QString::fromStdString(d.sha256), d.seconds);
        });
    };
    cb.onError = [this, channel](const std::string& e) {
        onQt([this, channel, e] {
            for (auto& [id, item] : items_) {
                if (item->channel != channel) continue;
                if (item->over) return;  // e.g. cancel() already said so
                item->over = true;
                emit failed(id, QString::fromStdString(e));
                return;
            }
        });
    };
    auto receiver = transfer::FileReceiver::start(channel, options, cb);
    self->set_value(receiver);
    onQt([this, channel, receiver] {
        // Kept alive with the channel; the row appears with the first progress event.
        receivers_.push_back(receiver);
    });
}

void TransferBridge::cancel(int id) {
    auto it = items_.find(id);
    if (it == items_.end() || it->second->over) return;
    it->second->over = true;
    if (it->second->channel) it->second->channel->close();
    emit failed(id, tr("cancelled"));
}

bool TransferBridge::reopen(int id) {
    auto it = items_.find(id);
    if (it == items_.end() || !it->second->over) return false;
    auto& item = *it->second;
    item.over = false;
    item.started = false;
    item.leg++;
    item.sawProgress = false;
    item.channel.reset();
    item.sender.reset();
    item.receiver.reset();
    return true;
}

bool TransferBridge::isOver(int id) const {
    auto it = items_.find(id);
    return it != items_.end() && it->second->over;
}

QString TransferBridge::name(int id) const {
    auto it = items_.find(id);
    return it == items_.end() ? QString() : it->second->name;
}

quint64 TransferBridge::size(int id) const {
    auto it = items_.find(id);
    return it == items_.end() ? 0 : it->second->size;
}

}  // namespace tincan::ui
