// The files a manager knows, by path and by the caller's descriptor, and the
// descriptors it holds: their LRU order and their budget, with slots
// reserved for descriptors being opened and counted until closed.
//
// Pure bookkeeping: the table makes no system call (descriptors it lets go
// of are handed back to the caller to close with no lock held) and takes no
// lock.
//
// Not thread-safe: its owner (the Core) guards it, and every FileEntry field
// marked (mu), with its lock. Fields marked (load) are written only by the
// thread holding the entry's load_mu while it also holds the owner's lock,
// so either lock suffices to read them; owned_fd is the exception (others
// close it under the owner's lock while the entry is not busy), so read it
// under the owner's lock. So is `size`, which threads that do not hold
// load_mu may write too (under size_mu: see its comment).

#ifndef SMMAP_INTERNAL_FILE_TABLE_H_
#define SMMAP_INTERNAL_FILE_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "smmap/file_ref.h"
#include "smmap/internal/handles.h"
#include "smmap/internal/intrusive_list.h"

namespace smmap {
namespace internal {

struct Region;

// One file known to the manager.
struct FileEntry {
  std::string path;    // empty when named by the caller's descriptor
  int caller_fd = -1;  // the caller's descriptor, or -1 for a path
  // (load) The manager's descriptor for a path, if open. Closed by others
  // (under mu) only while !busy.
  UniqueFd owned_fd;
  uint64_t device = 0;    // (load) identity, checked whenever the file is
  uint64_t inode = 0;     //        re-examined (see os::FileInfo)
  uint64_t birth_ns = 0;  //
  // (mu) As of the last fstat or lseek, written by the thread that made it:
  // a loader (holding load_mu), or for an lseek of owned_fd, any thread
  // holding size_mu.
  uint64_t size = 0;
  // (load) Whether the file was found to be a regular file and its identity
  // and size were read. A new entry is not examined until its first loader
  // has done so; if that fails, the next thread to load tries again.
  bool examined = false;
  // (mu) Whether new requests for this file's name find this entry. An
  // entry is detached when the name turned out to denote another file, or
  // when the caller purged it.
  bool attached = true;
  // (mu) Threads using owned_fd, which nobody closes meanwhile: the loader
  // (holding load_mu) and threads asking it for the size (holding size_mu).
  int busy = 0;
  // (mu) The RegionCache's: attached regions by window index, and the
  // number of live regions (attached or not).
  absl::flat_hash_map<uint64_t, Region*> regions;
  size_t num_regions = 0;
  // (mu) Cursor objects and operations using the entry. A thread holds one
  // while it waits for or holds load_mu, so the entry outlives its lock.
  size_t refs = 0;
  ListLinks<FileEntry> fd_lru;  // (mu) in the table's LRU while owned_fd open
  // Serialises this file's loads (smmap/internal/core.h). A plain
  // std::mutex, not annotated: the analysis cannot follow a lock that moves
  // to another entry or is taken with the owner's lock released.
  std::mutex load_mu;
  // Serialises the lseeks of owned_fd for the file's size, from the call
  // until the size is applied, so that an older size never overwrites a
  // newer one. (A size is read otherwise, by fstat, only by a loader while
  // no thread uses owned_fd.) Taken after load_mu if that is held, and
  // before the owner's lock.
  std::mutex size_mu;

  int fd() const { return caller_fd >= 0 ? caller_fd : owned_fd.get(); }
  FileRef ref() const {
    return caller_fd >= 0 ? FileRef(caller_fd) : FileRef(path);
  }
  // "<path>" or "fd <n>", for messages.
  std::string Name() const;
};

class FileTable final {
 public:
  // At most max(max_open_files, 1) descriptors are held, opened or being
  // closed at once; between calls, at most max_open_files are kept.
  explicit FileTable(uint64_t max_open_files);
  FileTable(const FileTable&) = delete;
  FileTable& operator=(const FileTable&) = delete;
  // REQUIRES: empty().
  ~FileTable() = default;

  // --- Entries ----------------------------------------------------------
  // The attached entry named by `file`, or nullptr.
  FileEntry* Find(const FileRef& file);
  // Find(), or a new entry (not examined) if there is none; with one more
  // reference either way.
  FileEntry* FindOrAdd(const FileRef& file);
  // New requests for the entry's name no longer find it.
  void Detach(FileEntry* file);
  // Deletes `file` if nothing needs it: no reference, no region, and no
  // descriptor to cache (an attached entry keeps its descriptor unless
  // `closed`, the manager being closed). Its descriptor goes to `closes`.
  // Returns whether it was deleted.
  bool MaybeDelete(FileEntry* file, bool closed, Releases* releases);
  // Calls `visit` with each attached entry.
  template <typename Visit>
  void ForEachAttached(Visit visit) const {
    for (const auto& [path, file] : by_path_) visit(*file);
    for (const auto& [fd, file] : by_fd_) visit(*file);
  }
  // Entries alive, attached or not.
  size_t size() const { return num_entries_; }
  bool empty() const { return num_entries_ == 0; }

  // --- Descriptors ------------------------------------------------------
  // Descriptors held (open, cached).
  size_t num_open() const { return fd_lru_.size(); }
  uint64_t max_open_files() const { return max_open_files_; }
  // `file` was used: its descriptor becomes the most recently used.
  void Touch(FileEntry* file);
  // The least recently used descriptor that no loader uses, or nullptr.
  FileEntry* IdleFd() const;
  // Closes `file`'s descriptor (REQUIRES: open and !busy): it goes to
  // `releases`, and counts in the budget until Closed() says it is closed.
  void CloseFd(FileEntry* file, Releases* releases);
  // Closes idle descriptors, least recently used first, until at most
  // `keep` are held or none is idle, deleting the entries left with
  // nothing. `evicting`: to keep the budget (counted as an eviction).
  void CloseIdleFds(size_t keep, bool evicting, bool closed,
                    Releases* releases);
  // Whether a descriptor slot is free for one more open().
  bool SlotFree() const {
    return fd_lru_.size() + opening_ + closing_ < slots_;
  }
  // Reserves a slot. REQUIRES: SlotFree().
  void ReserveSlot() { ++opening_; }
  // The open() in a reserved slot failed.
  void UnreserveSlot() { --opening_; }
  // `file` keeps `fd`, opened in a reserved slot.
  void Adopt(FileEntry* file, UniqueFd fd);
  // `fd`, opened in a reserved slot, is not kept: it goes to `releases`.
  void Discard(UniqueFd fd, Releases* releases);
  // `n` descriptors handed to Releases were closed.
  void Closed(size_t n) { closing_ -= n; }
  // Descriptors handed to Releases and not yet closed.
  size_t closing() const { return closing_; }

  // --- Counters (ManagerStats) ------------------------------------------
  uint64_t files_opened() const { return files_opened_; }
  uint64_t files_closed() const { return files_closed_; }
  uint64_t fd_evictions() const { return fd_evictions_; }

 private:
  void Unname(FileEntry* file);

  const uint64_t max_open_files_;
  const uint64_t slots_;  // max(max_open_files_, 1)
  absl::flat_hash_map<std::string, FileEntry*> by_path_;
  absl::flat_hash_map<int, FileEntry*> by_fd_;
  size_t num_entries_ = 0;
  // The entry of the last path looked up (attached), to skip hashing when a
  // program asks for the same file again and again.
  FileEntry* last_path_entry_ = nullptr;
  // Entries holding an owned descriptor, least recently used first.
  IntrusiveList<FileEntry, &FileEntry::fd_lru> fd_lru_;
  size_t opening_ = 0;  // slots reserved for open()
  size_t closing_ = 0;  // descriptors handed to Releases, not closed yet
  uint64_t files_opened_ = 0;
  uint64_t files_closed_ = 0;
  uint64_t fd_evictions_ = 0;
};

// On the hit path of every cursor made: inline.
inline FileEntry* FileTable::Find(const FileRef& file) {
  if (file.is_fd()) {
    auto it = by_fd_.find(file.fd());
    return it == by_fd_.end() ? nullptr : it->second;
  }
  if (last_path_entry_ != nullptr && last_path_entry_->path == file.path()) {
    return last_path_entry_;
  }
  auto it = by_path_.find(file.path());
  if (it == by_path_.end()) return nullptr;
  return last_path_entry_ = it->second;
}

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_FILE_TABLE_H_
