// Waiting on the event loop without QTest::qWaitFor's 10 ms naps between rounds, which would
// make each round trip over loopback cost tens of milliseconds.
#pragma once

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QTimer>

#include <algorithm>

template <class Predicate>
bool waitUntil(Predicate done, int timeoutMs) {
    const QDeadlineTimer deadline(timeoutMs);
    while (!done()) {
        if (deadline.hasExpired()) return false;
        QTimer wake;  // bounds the blocking wait below
        wake.setSingleShot(true);
        wake.start(static_cast<int>(std::clamp<qint64>(deadline.remainingTime(), 1, 50)));
        QCoreApplication::eventDispatcher()->processEvents(QEventLoop::WaitForMoreEvents);
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    }
    return true;
}
