// tincan --demo: two peers in one process, joined over loopback through the embedded
// signaling server (tincan-signal's code, on a thread of this process), each sending the test
// pattern and a tone, chatting and sending a file, the diagnostics open. Without a display
// (offscreen, Xvfb with --screenshots) it saves screenshots, prints a summary and exits.
#pragma once

#include <QString>

class QApplication;

namespace tincan::app {

struct DemoOptions {
    QString screenshotDir;  // empty: keep the windows open
    int timeoutSeconds = 45;
    int fileMegabytes = 4;  // the file Alice sends
};

int runDemo(QApplication& app, const DemoOptions& options);

}  // namespace tincan::app
