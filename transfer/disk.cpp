#include "transfer/disk.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tincan::transfer {

namespace fs = std::filesystem;

Result<void> checkWritableDirectory(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Error{"cannot create this folder (" + ec.message() + ")"};
    if (!fs::is_directory(dir, ec)) return Error{"not a folder"};
    // Permission bits do not tell (root, read-only mounts, ACLs): try.
    std::string probe = (dir / ".tincan-write-test-XXXXXX").string();
    int fd = ::mkstemp(probe.data());
    if (fd < 0)
        return Error{std::string("cannot write in this folder (") + std::strerror(errno) + ")"};
    ::close(fd);
    ::unlink(probe.c_str());
    return {};
}

PartialFile::PartialFile(PartialFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      existing_(other.existing_) {}

PartialFile& PartialFile::operator=(PartialFile&& other) noexcept {
    if (this != &other) {
        release(false);
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        existing_ = other.existing_;
    }
    return *this;
}

PartialFile::~PartialFile() {
    release(false);
}

void PartialFile::release(bool remove) {
    if (fd_ < 0) return;
    if (remove) ::unlink(path_.c_str());
    ::close(fd_);
    fd_ = -1;
}

Result<PartialFile> PartialFile::claim(const fs::path& dir, const std::string& name,
                                       uint64_t size) {
    int raced = 0;
    for (int i = 0; i < 100; ++i) {
        std::string suffix = i == 0 ? "" : "." + std::to_string(i);
        fs::path path = dir / ("." + name + "." + std::to_string(size) + suffix + ".tincan-part");
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return Error{path.string() + ": " + std::strerror(errno)};
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // another transfer is writing it
            ::close(fd);
            continue;
        }
        // The holder may have moved it into place (or removed it) between our open and our
        // lock: then we locked a file that is no longer the partial one. Try again.
        struct stat mine {
        }, named{};
        if (::fstat(fd, &mine) != 0 || ::stat(path.c_str(), &named) != 0 ||
            mine.st_ino != named.st_ino || mine.st_dev != named.st_dev) {
            ::close(fd);
            if (++raced < 100) --i;
            continue;
        }
        PartialFile p;
        p.fd_ = fd;
        p.path_ = path;
        p.existing_ = uint64_t(mine.st_size);
        if (p.existing_ > size) {
            if (::ftruncate(fd, 0) != 0) return Error{path.string() + ": " + std::strerror(errno)};
            p.existing_ = 0;
        }
        return p;
    }
    return Error{"too many transfers of " + name + " at once"};
}

namespace {

// 0 on success, else errno (EEXIST when `to` exists).
int renameNoReplace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
    // No RENAME_NOREPLACE on this file system: link() fails atomically on an existing name.
    if (::link(from.c_str(), to.c_str()) != 0) return errno;
    ::unlink(from.c_str());
    return 0;
}

}  // namespace

Result<fs::path> moveIntoPlace(const fs::path& from, const fs::path& dir, const std::string& name,
                               bool overwrite) {
    fs::path target = dir / name;
    if (overwrite) {
        if (::rename(from.c_str(), target.c_str()) != 0)
            return Error{target.string() + ": " + std::strerror(errno)};
        return target;
    }
    fs::path stem = fs::path(name).stem(), ext = fs::path(name).extension();
    for (int i = 1; i <= 10000; ++i) {
        int err = renameNoReplace(from, target);
        if (err == 0) return target;
        if (err != EEXIST) return Error{target.string() + ": " + std::strerror(err)};
        target = dir / (stem.string() + " (" + std::to_string(i) + ")" + ext.string());
    }
    return Error{"no free name for " + name + " in " + dir.string()};
}

}  // namespace tincan::transfer
