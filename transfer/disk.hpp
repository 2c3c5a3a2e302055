// The receiver's file system steps, safe against other transfers into the same folder (in
// this process or another): a partial file claimed with a lock, and a final name claimed
// without ever replacing a file that is already there. Called on the transfer's worker thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "tincan/result.hpp"

namespace tincan::transfer {

// The folder exists (it is created if missing) and a file can be created in it. For a receiver
// to refuse a folder at start rather than when the first file arrives.
Result<void> checkWritableDirectory(const std::filesystem::path& dir);

// A partial download, open read-write and locked (flock) for as long as the object lives.
class PartialFile {
public:
    PartialFile() = default;
    PartialFile(PartialFile&& other) noexcept;
    PartialFile& operator=(PartialFile&& other) noexcept;
    ~PartialFile();

    // The first of ".NAME.SIZE.tincan-part", ".NAME.SIZE.1.tincan-part", ... in `dir` that no
    // other transfer holds: two transfers of the same name and size never share one. A file
    // longer than `size` is emptied (it cannot be a prefix of this one).
    static Result<PartialFile> claim(const std::filesystem::path& dir, const std::string& name,
                                     uint64_t size);

    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return path_; }
    uint64_t existingBytes() const { return existing_; }  // what was there when claimed
    // Closes and unlocks; with `remove`, deletes the file first (still under the lock).
    void release(bool remove);

private:
    int fd_ = -1;
    std::filesystem::path path_;
    uint64_t existing_ = 0;
};

// Moves `from` to dir/name. Unless `overwrite`, never replaces an existing file (renameat2
// RENAME_NOREPLACE, or link + unlink where the file system lacks it): the next free
// "stem (1).ext", "stem (2).ext", ... is taken instead, atomically. Returns the final path.
Result<std::filesystem::path> moveIntoPlace(const std::filesystem::path& from,
                                            const std::filesystem::path& dir,
                                            const std::string& name, bool overwrite);

}  // namespace tincan::transfer
