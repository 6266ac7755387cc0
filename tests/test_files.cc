#include "tests/test_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace smmap {
namespace testing {

std::string Str(absl::Span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::string TempPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name, ".", ::getpid(),
                      ".", counter.fetch_add(1));
}

std::vector<uint8_t> RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t word = rng();
    for (size_t j = i; j < size && j < i + 8; ++j) {
      bytes[j] = static_cast<uint8_t>(word >> (8 * (j - i)));
    }
  }
  return bytes;
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr ||
      std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() ||
      std::fclose(file) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

size_t CountOpenFds() {
  size_t count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

TestFile TestFile::Zeros(absl::string_view name, size_t size,
                         uint8_t final_byte) {
  std::vector<uint8_t> bytes(size, 0);
  if (size > 0) bytes.back() = final_byte;
  return TestFile(name, std::move(bytes));
}

TestFile TestFile::Random(absl::string_view name, size_t size, uint64_t seed) {
  return TestFile(name, RandomBytes(size, seed));
}

TestFile::TestFile(absl::string_view name, std::vector<uint8_t> bytes)
    : path_(TempPath(name)), bytes_(std::move(bytes)) {
  WriteFile(path_, bytes_);
}

TestFile::TestFile(TestFile&& other) noexcept
    : path_(std::move(other.path_)), bytes_(std::move(other.bytes_)) {
  other.path_.clear();
}

TestFile::~TestFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

std::string TestFile::Range(uint64_t offset, uint64_t n) const {
  return std::string(reinterpret_cast<const char*>(bytes_.data()) + offset,
                     static_cast<size_t>(n));
}

void TestFile::Rewrite(std::vector<uint8_t> bytes) {
  bytes_ = std::move(bytes);
  int fd = ::open(path_.c_str(), O_WRONLY | O_TRUNC);
  if (fd < 0 ||
      ::write(fd, bytes_.data(), bytes_.size()) !=
          static_cast<ssize_t>(bytes_.size()) ||
      ::close(fd) != 0) {
    std::perror(path_.c_str());
    std::abort();
  }
}

}  // namespace testing
}  // namespace smmap
