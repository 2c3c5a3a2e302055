// Test helper: reads a Y4M recording and prints, as one JSON line, its size, frame count and the
// test-pattern counter of every frame (null where unreadable), so scripts (tests/app/cli) can
// check a recorded call without reimplementing the pattern reader.
//   media_inspect FILE.y4m
#include <cstdio>
#include <string>

#include "media/video/test_pattern.hpp"
#include "media/video/y4m.hpp"

int main(int argc, char** argv) {
    using namespace tincan::media;
    if (argc != 2) {
        std::fprintf(stderr, "usage: media_inspect FILE.y4m\n");
        return 2;
    }
    Y4mReader reader;
    if (!reader.open(argv[1])) {
        std::fprintf(stderr, "media_inspect: %s: %s\n", argv[1], reader.error().c_str());
        return 1;
    }
    std::string counters;
    I420Frame frame;
    size_t frames = 0, readable = 0;
    while (reader.read(frame)) {
        auto stamp = readTestPattern(frame.view());
        if (frames++) counters += ",";
        counters += stamp ? std::to_string(stamp->counter) : "null";
        readable += stamp ? 1 : 0;
    }
    std::printf("{\"width\":%d,\"height\":%d,\"frames\":%zu,\"readable\":%zu,\"counters\":[%s]}\n",
                reader.width(), reader.height(), frames, readable, counters.c_str());
    return 0;
}
