#include "ui/widgets/chat_panel.hpp"

#include <QLineEdit>
#include <QTextBrowser>
#include <QTime>
#include <QVBoxLayout>

namespace tincan::ui {

ChatPanel::ChatPanel(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    log_ = new QTextBrowser;
    log_->setOpenLinks(false);
    input_ = new QLineEdit;
    input_->setPlaceholderText(tr("Type a message and press Enter"));
    v->addWidget(log_, 1);
    v->addWidget(input_);
    connect(input_, &QLineEdit::returnPressed, this, [this] {
        QString text = input_->text().trimmed();
        if (text.isEmpty()) return;
        input_->clear();
        emit send(text);
    });
    setSendEnabled(false);
}

void ChatPanel::addLine(const QString& who, const QString& text, bool mine) {
    log_->append(QString("<span style='color:gray'>%1</span> <b style='color:%2'>%3:</b> %4")
                     .arg(QTime::currentTime().toString("HH:mm"), mine ? "#2f81f7" : "#2ea043",
                          who.toHtmlEscaped(), text.toHtmlEscaped()));
}

void ChatPanel::addNotice(const QString& text) {
    log_->append(QString("<i>%1</i>").arg(text.toHtmlEscaped()));
}

void ChatPanel::setSendEnabled(bool on) {
    input_->setEnabled(on);
    input_->setPlaceholderText(on ? tr("Type a message and press Enter")
                                  : tr("Chat opens once you are connected"));
}

QString ChatPanel::transcript() const {
    return log_->toPlainText();
}

}  // namespace tincan::ui
