#include "ui/bridge/transfer_bridge.hpp"

#include <QtConcurrent/QtConcurrentRun>

#include "transfer/file_transfer.hpp"

namespace tincan::ui {

struct TransferBridge::Item {
    bool outgoing = true;
    QString path;
    QString name;
    quint64 size = 0;
    bool started = false;
    bool over = false;
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
    transfer::Callbacks cb;
    cb.onProgress = [this, id](const transfer::Progress& p) {
        onQt([this, id, p] { emit progress(id, p.bytes, p.size); });
    };
    cb.onDone = [this, id](const transfer::Done& d) {
        onQt([this, id, d] {
            if (auto i = items_.find(id); i != items_.end()) i->second->over = true;
            emit finished(id, QString::fromStdString(d.path.string()),
                          QString::fromStdString(d.sha256), d.seconds);
        });
    };
    cb.onError = [this, id](const std::string& e) {
        onQt([this, id, e] {
            if (auto i = items_.find(id); i != items_.end()) i->second->over = true;
            emit failed(id, QString::fromStdString(e));
        });
    };
    // start() opens the file: disk work, so on a worker, never on the UI thread.
    auto channel = item->channel;
    auto path = item->path.toStdString();
    (void)QtConcurrent::run([this, id, channel, path, cb] {
        auto started = transfer::FileSender::start(channel, path, cb);
        std::shared_ptr<transfer::FileSender> sender = started ? *started : nullptr;
        std::string error = started ? std::string() : started.message();
        onQt([this, id, sender, error] {
            auto i = items_.find(id);
            if (i == items_.end()) return;
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
    transfer::Callbacks cb;
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
                item->over = true;
                emit failed(id, QString::fromStdString(e));
                return;
            }
        });
    };
    auto receiver = transfer::FileReceiver::start(channel, options, cb);
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

}  // namespace tincan::ui
