#include "smmap/internal/file_table.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace smmap {
namespace internal {

std::string FileEntry::Name() const {
  return caller_fd >= 0 ? absl::StrCat("fd ", caller_fd) : path;
}

FileTable::FileTable(uint64_t max_open_files)
    : max_open_files_(max_open_files),
      slots_(std::max<uint64_t>(max_open_files, 1)) {}

FileEntry* FileTable::FindOrAdd(const FileRef& file) {
  FileEntry* entry = Find(file);
  if (entry == nullptr) {
    entry = new FileEntry;
    if (file.is_fd()) {
      entry->caller_fd = file.fd();
      by_fd_[entry->caller_fd] = entry;
    } else {
      entry->path = std::string(file.path());
      by_path_[entry->path] = entry;
      last_path_entry_ = entry;
    }
    ++num_entries_;
  }
  ++entry->refs;
  return entry;
}

void FileTable::Unname(FileEntry* file) {
  if (last_path_entry_ == file) last_path_entry_ = nullptr;
  if (!file->attached) return;
  if (file->caller_fd >= 0) {
    by_fd_.erase(file->caller_fd);
  } else {
    by_path_.erase(file->path);
  }
}

void FileTable::Detach(FileEntry* file) {
  Unname(file);
  file->attached = false;
}

bool FileTable::MaybeDelete(FileEntry* file, bool closed, Releases* releases) {
  // refs == 0: no thread holds or waits for file->load_mu either.
  if (file->refs != 0 || file->num_regions != 0) return false;
  // An attached entry stays to cache its descriptor, within the budget.
  if (file->attached && file->owned_fd.valid() && !closed) return false;
  if (file->owned_fd.valid()) CloseFd(file, releases);
  Unname(file);
  delete file;
  --num_entries_;
  return true;
}

void FileTable::Touch(FileEntry* file) {
  if (file->owned_fd.valid()) fd_lru_.MoveToBack(file);
}

FileEntry* FileTable::IdleFd() const {
  // Loaders are few: this passes over at most one entry per thread.
  FileEntry* file = fd_lru_.front();
  while (file != nullptr && file->busy) file = fd_lru_.Next(file);
  return file;
}

void FileTable::CloseFd(FileEntry* file, Releases* releases) {
  fd_lru_.Remove(file);
  releases->closes.push_back(std::move(file->owned_fd));
  ++closing_;
  ++files_closed_;
}

void FileTable::CloseIdleFds(size_t keep, bool evicting, bool closed,
                             Releases* releases) {
  while (fd_lru_.size() > keep) {
    FileEntry* victim = IdleFd();
    if (victim == nullptr) break;
    if (evicting) ++fd_evictions_;
    CloseFd(victim, releases);
    MaybeDelete(victim, closed, releases);
  }
}

void FileTable::Adopt(FileEntry* file, UniqueFd fd) {
  --opening_;
  file->owned_fd = std::move(fd);
  fd_lru_.PushBack(file);
  ++files_opened_;
}

void FileTable::Discard(UniqueFd fd, Releases* releases) {
  releases->closes.push_back(std::move(fd));
  --opening_;
  ++closing_;  // counted until it is closed
  ++files_opened_;
  ++files_closed_;
}

}  // namespace internal
}  // namespace smmap
