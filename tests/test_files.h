// Files for tests: made in the test's temporary directory, removed on
// destruction, with their bytes kept for comparison.
//
// Not thread-safe to construct concurrently with the same name.

#ifndef SMMAP_TESTS_TEST_FILES_H_
#define SMMAP_TESTS_TEST_FILES_H_

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace smmap {
namespace testing {

// The system's page size.
inline const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));

// `bytes` as a string, for comparisons that print what differs.
std::string Str(absl::Span<const uint8_t> bytes);

// A unique path in the test's temporary directory ($TEST_TMPDIR).
std::string TempPath(absl::string_view name);

// `size` bytes from a seeded generator (deterministic per seed).
std::vector<uint8_t> RandomBytes(size_t size, uint64_t seed);

// Writes `bytes` to `path` (replacing it). Aborts the test binary on error.
void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes);

// The number of file descriptors this process has open (/proc/self/fd).
size_t CountOpenFds();

// A file that exists for the lifetime of the object.
class TestFile {
 public:
  // The usage guide's sample file: `size` zero bytes, the last one
  // replaced by `final_byte`.
  static TestFile Zeros(absl::string_view name, size_t size,
                        uint8_t final_byte);
  // `size` random bytes.
  static TestFile Random(absl::string_view name, size_t size, uint64_t seed);
  // Exactly `bytes`.
  TestFile(absl::string_view name, std::vector<uint8_t> bytes);
  TestFile(TestFile&& other) noexcept;
  TestFile& operator=(TestFile&&) = delete;
  TestFile(const TestFile&) = delete;
  TestFile& operator=(const TestFile&) = delete;
  ~TestFile();

  const std::string& path() const { return path_; }
  uint64_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // Bytes [offset, offset + n) as a string, for comparisons.
  std::string Range(uint64_t offset, uint64_t n) const;
  // Rewrites the file with `bytes`, in place (same inode).
  void Rewrite(std::vector<uint8_t> bytes);

 private:
  std::string path_;
  std::vector<uint8_t> bytes_;
};

}  // namespace testing
}  // namespace smmap

#endif  // SMMAP_TESTS_TEST_FILES_H_
