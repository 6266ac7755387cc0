#include "fuzz/memfd_files.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace smmap {
namespace fuzz {

void Die(const char* file, int line, const char* condition,
         const std::string& message) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n  %s\n", file, line, condition,
               message.c_str());
  std::abort();
}

std::vector<uint8_t> PatternBytes(uint64_t size, uint64_t seed) {
  std::vector<uint8_t> bytes(size);
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (uint8_t& b : bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return bytes;
}

MemFile::MemFile(const std::vector<uint8_t>& bytes) {
  fd_ = ::memfd_create("smmap-fuzz", MFD_CLOEXEC);
  SMMAP_FUZZ_CHECK(fd_ >= 0, "memfd_create failed");
  Rewrite(bytes);
}

MemFile::MemFile(MemFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), bytes_(std::move(other.bytes_)) {}

MemFile::~MemFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string MemFile::path() const {
  return absl::StrCat("/proc/self/fd/", fd_);
}

void MemFile::Rewrite(const std::vector<uint8_t>& bytes) {
  bytes_ = bytes;
  SMMAP_FUZZ_CHECK(::ftruncate(fd_, static_cast<off_t>(bytes.size())) == 0,
                   "ftruncate failed");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                               static_cast<off_t>(done));
    SMMAP_FUZZ_CHECK(n > 0, "pwrite failed");
    done += static_cast<size_t>(n);
  }
}

}  // namespace fuzz
}  // namespace smmap
