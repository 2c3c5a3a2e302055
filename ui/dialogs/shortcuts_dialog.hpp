// The visible list of keyboard shortcuts (F1).
#pragma once

#include <QDialog>
#include <QList>
#include <QPair>

namespace tincan::ui {

class ShortcutsDialog : public QDialog {
    Q_OBJECT
public:
    explicit ShortcutsDialog(QWidget* parent = nullptr);
    // Key → what it does, as listed (and bound by the call window).
    static QList<QPair<QString, QString>> shortcuts();
};

}  // namespace tincan::ui
