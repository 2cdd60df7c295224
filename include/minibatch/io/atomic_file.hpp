// Whole-file writes that are atomic under crashes, and whole-file reads sized by the file.
//
//   write_file_atomically(path, bytes)
//     1. writes the bytes to `path.tmp` in the same directory (same file system, so step 3
//        is atomic), creating or truncating it
//     2. fsyncs it (its bytes reach the disk before its name does)
//     3. renames it over `path` (POSIX rename replaces the old file atomically)
//     4. fsyncs the directory (the rename itself reaches the disk)
//   Whoever opens `path` — after a SIGKILL or a power cut at any point — sees either the
//   old file or the complete new one, never a mix. On failure the temporary file is
//   removed, `path` is untouched, and io_error names the file, the step and the reason.
//   One writer per path: two processes saving to one path race on the temporary file.
//
//   read_whole_file(path)
//     the bytes of a regular file; the buffer is sized by the file's real size (fstat),
//     never by anything written inside the file.
//
// POSIX (open/fsync/rename); the library's supported systems are Linux and macOS.
#pragma once

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "minibatch/core/error.hpp"

namespace minibatch::io {

namespace detail {

inline std::string errno_text(int e) { return std::generic_category().message(e); }

// Closes a descriptor on scope exit unless released.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  // Closes now; returns close()'s errno (0 on success).
  int close() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

inline int fsync_retrying(int fd) noexcept {
  int rc;
  do rc = ::fsync(fd);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

}  // namespace detail

inline std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  return tmp;
}

inline void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  const std::filesystem::path tmp = temporary_path_for(path);
  auto fail = [&](const char* step, int e) {
    ::unlink(tmp.c_str());
    throw io_error(minibatch::detail::concat("cannot write '", path.string(), "': ", step, " '", tmp.string(),
                                             "' failed: ", detail::errno_text(e),
                                             " (the previous file, if any, is untouched)"));
  };
  detail::FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (fd.get() < 0) fail("creating", errno);
  for (std::size_t done = 0; done < bytes.size();) {
    const ::ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("writing", n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  if (const int e = detail::fsync_retrying(fd.get())) fail("fsync of", e);
  if (const int e = fd.close()) fail("closing", e);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming", errno);

  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  detail::FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const int e = dir_fd.get() < 0 ? errno : detail::fsync_retrying(dir_fd.get());
  // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as they make it.
  if (e != 0 && e != EINVAL)
    throw io_error(minibatch::detail::concat("wrote '", path.string(), "' but syncing its directory '", dir.string(),
                                             "' failed: ", detail::errno_text(e),
                                             " (the new file is in place; it may not survive a power cut)"));
}

inline std::vector<std::byte> read_whole_file(const std::filesystem::path& path) {
  detail::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int e = errno;
    throw io_error(minibatch::detail::concat("cannot open '", path.string(), "': ", detail::errno_text(e)));
  }
  struct ::stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int e = errno;
    throw io_error(minibatch::detail::concat("cannot stat '", path.string(), "': ", detail::errno_text(e)));
  }
  require<io_error>(S_ISREG(st.st_mode), "cannot read '", path.string(), "': not a regular file");
  std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
  for (std::size_t done = 0; done < bytes.size();) {
    const ::ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      throw io_error(minibatch::detail::concat("cannot read '", path.string(), "': ", detail::errno_text(e)));
    }
    require<io_error>(n > 0, "cannot read '", path.string(), "': the file shrank from ", bytes.size(), " to ", done,
                      " bytes while it was read");
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

}  // namespace minibatch::io
