// The call's text chat: the conversation and a line to type in.
#pragma once

#include <QWidget>

class QLineEdit;
class QTextBrowser;

namespace tincan::ui {

class ChatPanel : public QWidget {
    Q_OBJECT
public:
    explicit ChatPanel(QWidget* parent = nullptr);
    void addLine(const QString& who, const QString& text, bool mine);
    void addNotice(const QString& text);
    void setSendEnabled(bool on);
    QString transcript() const;
    QLineEdit* input() const { return input_; }

signals:
    void send(const QString& text);

private:
    QTextBrowser* log_ = nullptr;
    QLineEdit* input_ = nullptr;
};

}  // namespace tincan::ui
