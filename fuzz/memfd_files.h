// In-memory files for fuzzers (memfd_create): no disk is touched, and each
// file is also reachable by path through /proc/self/fd.
//
// Not thread-safe.

#ifndef SMMAP_FUZZ_MEMFD_FILES_H_
#define SMMAP_FUZZ_MEMFD_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace smmap {
namespace fuzz {

// An in-memory file, closed on destruction.
class MemFile {
 public:
  // Aborts on failure (a fuzzer cannot go on without its files).
  explicit MemFile(const std::vector<uint8_t>& bytes);
  MemFile(MemFile&& other) noexcept;
  MemFile& operator=(MemFile&&) = delete;
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  ~MemFile();

  int fd() const { return fd_; }
  // "/proc/self/fd/<fd>": opening it opens the same file.
  std::string path() const;
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  // Replaces the contents (same inode), growing or shrinking the file.
  void Rewrite(const std::vector<uint8_t>& bytes);

 private:
  int fd_ = -1;
  std::vector<uint8_t> bytes_;
};

// `size` bytes derived from `seed`.
std::vector<uint8_t> PatternBytes(uint64_t size, uint64_t seed);

// Aborts with `message` if `condition` is false: how fuzzers report.
#define SMMAP_FUZZ_CHECK(condition, message)                         \
  do {                                                               \
    if (!(condition))                                                \
      ::smmap::fuzz::Die(__FILE__, __LINE__, #condition, (message)); \
  } while (false)

[[noreturn]] void Die(const char* file, int line, const char* condition,
                      const std::string& message);

}  // namespace fuzz
}  // namespace smmap

#endif  // SMMAP_FUZZ_MEMFD_FILES_H_
