// The file transfers of a call, one row each: name, size, a progress bar with speed and time
// left, the SHA-256 when done (all of it, wrapped, with a copy button), and the buttons that fit
// the row's state (accept/reject, cancel, show in folder).
#pragma once

#include <QElapsedTimer>
#include <QMap>
#include <QWidget>

class QVBoxLayout;
class QLabel;
class QProgressBar;
class QPushButton;

namespace tincan::ui {

class TransferList : public QWidget {
    Q_OBJECT
public:
    explicit TransferList(QWidget* parent = nullptr);

    void addRow(int id, bool outgoing, const QString& name, quint64 size);
    void askToAccept(int id);  // shows Accept / Reject
    void setWaiting(int id, const QString& text);
    void setProgress(int id, quint64 bytes, quint64 size);
    void setDone(int id, const QString& path, const QString& sha256, double seconds);
    // The row stops without the whole file; an outgoing row offers Resume.
    void setFailed(int id, const QString& why);
    // A new leg of a stopped row begins (Resume): the row is live again.
    void restart(int id, const QString& text);
    // This leg continues from `fromBytes`: shown beside the progress and the result.
    void setResumed(int id, quint64 fromBytes);
    quint64 resumedFrom(int id) const;
    // A transfer library error in words for the row ("Stopped: …").
    static QString failureInWords(const QString& why, bool outgoing);
    int rowCount() const { return int(rows_.size()); }
    // The status line, and the full SHA-256 once done.
    QString statusText(int id) const;
    QString sha256(int id) const;
    // The hash as shown: groups of 8 hex digits that wrap at the panel's edge.
    static QString groupedHash(const QString& hex);

    static QString humanSize(quint64 bytes);

signals:
    void acceptClicked(int id);
    void rejectClicked(int id);
    void cancelClicked(int id);
    void resumeClicked(int id);

private:
    struct Row {
        QWidget* box = nullptr;
        QLabel* title = nullptr;
        QLabel* status = nullptr;
        QLabel* hash = nullptr;  // the SHA-256 when done, full value in its tooltip
        QProgressBar* bar = nullptr;
        QPushButton* accept = nullptr;
        QPushButton* reject = nullptr;
        QPushButton* cancel = nullptr;
        QPushButton* resume = nullptr;
        QPushButton* show = nullptr;
        QPushButton* copyHash = nullptr;
        QString sha256;
        QElapsedTimer clock;
        quint64 firstBytes = 0;
        quint64 resumedFrom = 0;
        bool outgoing = true;
    };
    QVBoxLayout* layout_ = nullptr;
    QMap<int, Row> rows_;
};

}  // namespace tincan::ui
