// Names a file for a manager: a path, which the manager opens, or a file
// descriptor owned by the caller, which the manager never closes.
//
//   mman.MakeCursor("/data/pack.idx");   // a path
//   mman.MakeCursor(fd);                 // the caller's descriptor
//
// A FileRef does not own the path's characters: it is a parameter type,
// valid for the duration of the call it is passed to.
//
// Thread-compatible.

#ifndef SMMAP_FILE_REF_H_
#define SMMAP_FILE_REF_H_

#include <string>

#include "absl/strings/string_view.h"

namespace smmap {

class FileRef final {
 public:
  // NOLINTBEGIN(google-explicit-constructor): implicit by design.
  // A null pointer is an empty path (which the manager rejects).
  FileRef(const char* path) : path_(path != nullptr ? path : "") {}
  FileRef(const std::string& path) : path_(path) {}
  FileRef(absl::string_view path) : path_(path) {}
  // REQUIRES: the caller keeps `fd` open while the manager may map from it
  // (cursors already made stay readable after it is closed). The manager
  // caches files by descriptor number: before closing a descriptor whose
  // number may later name another file, call MemmapManager::Purge(fd) (or
  // the manager may serve the old file's cached bytes, even while cursors
  // on the old file are open).
  FileRef(int fd) : fd_(fd), is_fd_(true) {}
  // NOLINTEND(google-explicit-constructor)

  bool is_fd() const { return is_fd_; }
  // The descriptor (as given, even if invalid), or -1 for a path.
  int fd() const { return fd_; }
  // The path, or empty for a descriptor.
  absl::string_view path() const { return path_; }

 private:
  absl::string_view path_;
  int fd_ = -1;
  bool is_fd_ = false;
};

}  // namespace smmap

#endif  // SMMAP_FILE_REF_H_
