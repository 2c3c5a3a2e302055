#include "ui/dialogs/shortcuts_dialog.hpp"

#include <QDialogButtonBox>
#include <QLabel>
#include <QVBoxLayout>

namespace tincan::ui {

QList<QPair<QString, QString>> ShortcutsDialog::shortcuts() {
    return {{"M", tr("Mute / unmute the microphone")},
            {"V", tr("Camera off / on")},
            {"Ctrl+D", tr("Hang up")},
            {"F11", tr("Full screen")},
            {"F1", tr("This list")},
            {"Ctrl+I", tr("Show / hide diagnostics")}};
}

ShortcutsDialog::ShortcutsDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Keyboard shortcuts"));
    QString html = "<table cellpadding=4>";
    for (const auto& [key, what] : shortcuts())
        html += QString("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(key, what);
    html += "</table>";
    auto* v = new QVBoxLayout(this);
    v->addWidget(new QLabel(html));
    auto* box = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);
    v->addWidget(box);
}

}  // namespace tincan::ui
