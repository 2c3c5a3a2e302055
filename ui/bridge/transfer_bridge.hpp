// File transfers (../shared/FILE_TRANSFER.md) for the window: the only file that uses the
// transfer/ library, so a change of its API is an edit here. Sender and receiver run on the
// network thread and their own disk steps; every event reaches the UI as a queued signal.
//
// Before a file's channel opens the sender asks over the message channel ("file-offer") and
// the receiver answers ("file-answer"): that is how the person on the other side accepts or
// rejects. A "file" channel that arrives unannounced (a browser peer) is received as is.
#pragma once

#include <QObject>
#include <QString>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "tincan/peer_connection.hpp"

namespace tincan::transfer {
class FileReceiver;
}

namespace tincan::ui {

class TransferBridge : public QObject {
    Q_OBJECT
public:
    explicit TransferBridge(QObject* parent = nullptr);
    ~TransferBridge() override;

    void setConnection(std::shared_ptr<PeerConnection> pc) { pc_ = std::move(pc); }
    // Where received files go; read on the network thread, so guarded.
    void setDownloadFolder(const QString& folder);

    // Sender: opens the file's channel once the peer accepted (see header).
    int addOutgoing(const QString& path, quint64 size);
    void startSending(int id);
    // Receiver: an accepted offer; its channel will carry a file of this name.
    int expectIncoming(const QString& name, quint64 size);
    // Called on the NETWORK thread with a "file" channel the peer opened.
    void takeIncoming(std::shared_ptr<DataChannel> channel);
    void cancel(int id);
    // A transfer that ended without the whole file (a dropped channel, a cancel) is opened
    // again for a new leg on a new channel: the receiver's kept partial file makes the sender
    // send only the rest (FILE_TRANSFER.md, accept's offset). False when it is not over.
    bool reopen(int id);
    bool isOver(int id) const;
    QString name(int id) const;
    quint64 size(int id) const;
    // The name a receiver stores a suggested name under.
    static QString storedName(const QString& suggested);

signals:
    void added(int id, bool outgoing, const QString& name, quint64 size);
    void progress(int id, quint64 bytes, quint64 size);
    void finished(int id, const QString& path, const QString& sha256, double seconds);
    void failed(int id, const QString& why);
    // This leg continues from `fromBytes` (receiver: at the offer; sender: when done).
    void resumed(int id, quint64 fromBytes, quint64 size);

private:
    struct Item;
    void onQt(std::function<void()> fn);
    int resolveIncoming(const std::string& name, quint64 size,
                        const std::shared_ptr<DataChannel>& channel);

    std::shared_ptr<PeerConnection> pc_;
    std::map<int, std::shared_ptr<Item>> items_;
    int nextId_ = 1;
    std::vector<std::shared_ptr<transfer::FileReceiver>> receivers_;
    std::mutex folderMutex_;
    std::filesystem::path folder_;
};

}  // namespace tincan::ui
