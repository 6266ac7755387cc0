#include "linecount/file_stats.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "smmap/manager.h"
#include "smmap/options.h"

namespace linecount {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = TempPath(name);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr) << path;
  if (f == nullptr) return path;
  EXPECT_EQ(std::fwrite(contents.data(), 1, contents.size(), f),
            contents.size());
  EXPECT_EQ(std::fclose(f), 0);
  return path;
}

// Text lines of random lengths, the last one without its newline.
std::string RandomText(size_t size) {
  std::mt19937_64 random(12);
  std::string text(size, 'x');
  for (char& c : text) {
    c = random() % 61 == 0 ? '\n' : static_cast<char>('a' + random() % 26);
  }
  if (!text.empty()) text.back() = 'z';
  return text;
}

FileStats Expected(const std::string& contents) {
  FileStats stats;
  Accumulate(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(contents.data()),
                          contents.size()),
      &stats);
  return stats;
}

// Small windows and budget: the sliding cursor crosses many regions and the
// manager unmaps behind it.
std::unique_ptr<smmap::TilingMemmapManager> SmallManager() {
  smmap::ManagerOptions options;
  options.window_size = 1 << 20;
  options.max_memory_size = 4 << 20;
  absl::StatusOr<std::unique_ptr<smmap::TilingMemmapManager>> mman =
      smmap::TilingMemmapManager::Create(options);
  EXPECT_TRUE(mman.ok()) << mman.status();
  return mman.ok() ? std::move(*mman) : nullptr;
}

TEST(FileStatsTest, ChunkBoundariesDoNotMatter) {
  const std::string text = "one\ntwo\nthree";
  FileStats split;
  for (char c : text) {
    Accumulate(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(&c), 1),
               &split);
  }
  EXPECT_EQ(split, Expected(text));
  EXPECT_EQ(split.lines, 2u);
  EXPECT_EQ(split.bytes, 13u);
}

TEST(FileStatsTest, BigFileSmmapEqualsRead) {
  const std::string text = RandomText((24 << 20) + 12345);
  const std::string path = WriteFile("big.txt", text);
  std::unique_ptr<smmap::TilingMemmapManager> mman = SmallManager();
  ASSERT_NE(mman, nullptr);

  absl::StatusOr<FileStats> mapped = StatsWithSmmap(*mman, path);
  absl::StatusOr<FileStats> plain = StatsWithRead(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*mapped, *plain) << ToString(*mapped) << " vs " << ToString(*plain);
  EXPECT_EQ(*mapped, Expected(text));
  EXPECT_GT(mapped->lines, 300000u);

  // Regions of 1 MiB every 512 KiB, within a 4 MiB budget.
  EXPECT_GE(mman->stats().regions_mapped, 24u);
  EXPECT_LE(mman->stats().peak_mapped_bytes, uint64_t{4 << 20});
}

TEST(FileStatsTest, DefaultManager) {
  const std::string text = RandomText(3 << 20);
  const std::string path = WriteFile("default.txt", text);
  smmap::TilingMemmapManager mman;
  absl::StatusOr<FileStats> mapped = StatsWithSmmap(mman, path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(*mapped, Expected(text));
}

TEST(FileStatsTest, EmptyFile) {
  const std::string path = WriteFile("empty.txt", "");
  smmap::TilingMemmapManager mman;
  absl::StatusOr<FileStats> mapped = StatsWithSmmap(mman, path);
  absl::StatusOr<FileStats> plain = StatsWithRead(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*mapped, FileStats());
  EXPECT_EQ(*plain, FileStats());
}

TEST(FileStatsTest, MissingFile) {
  const std::string path = TempPath("no-such-file");
  smmap::TilingMemmapManager mman;
  EXPECT_EQ(StatsWithSmmap(mman, path).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(StatsWithRead(path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace linecount
