// A FILE* that closes itself (the media recorders write with stdio).
#pragma once

#include <cstdio>
#include <memory>

namespace tincan::media {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

}  // namespace tincan::media
