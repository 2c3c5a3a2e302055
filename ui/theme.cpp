#include "ui/theme.hpp"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

static void initTincanResources() {
    Q_INIT_RESOURCE(tincan);
}

namespace tincan::ui {

void initResources() {
    static const bool once = (initTincanResources(), true);
    (void)once;
}

static QPalette darkPalette() {
    QPalette p;
    const QColor window(37, 39, 43), base(27, 29, 32), text(230, 232, 235), disabled(120, 124, 130),
        accent(47, 129, 247);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Link, accent);
    p.setColor(QPalette::Highlight, accent);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Mid, QColor(70, 74, 80));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, disabled);
    return p;
}

void applyTheme(Theme theme) {
    qApp->setStyle(QStyleFactory::create("Fusion"));
    if (theme == Theme::Dark)
        qApp->setPalette(darkPalette());
    else if (theme == Theme::Light)
        qApp->setPalette(qApp->style()->standardPalette());
    else
        qApp->setPalette(QPalette());
}

}  // namespace tincan::ui
