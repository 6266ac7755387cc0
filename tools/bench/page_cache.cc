#include "tools/bench/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace smmap {
namespace bench {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, "(", path, ")"));
}

}  // namespace

absl::string_view CacheStateName(CacheState state) {
  return state == CacheState::kLargeFolio ? "large-folio" : "small-folio";
}

absl::Status MakeBenchFile(const std::string& path, uint64_t size) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 &&
      static_cast<uint64_t>(st.st_size) == size) {
    return absl::OkStatus();
  }
  const std::string tmp = path + ".partial";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open", tmp);
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  std::mt19937_64 rng(20260601);
  std::vector<uint64_t> block(1 << 17);  // 1 MiB
  for (uint64_t written = 0; written < size;) {
    for (uint64_t& word : block) word = rng();
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(size - written, block.size() * sizeof(uint64_t)));
    const ssize_t w = ::write(fd, block.data(), n);
    if (w <= 0) return Errno("write", tmp);
    written += static_cast<uint64_t>(w);
  }
  if (::fsync(fd) != 0) return Errno("fsync", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", path);
  return absl::OkStatus();
}

absl::Status SetCacheState(const std::string& path, CacheState state) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno("fstat", path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  ::fdatasync(fd);
  if (int err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) {
    errno = err;
    return Errno("posix_fadvise(DONTNEED)", path);
  }
  if (state == CacheState::kLargeFolio) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<char> buffer(1 << 20);
    while (true) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0) return Errno("read", path);
      if (n == 0) break;
    }
  } else {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    std::vector<uint64_t> pages(static_cast<size_t>((size + page - 1) / page));
    for (size_t i = 0; i < pages.size(); ++i) pages[i] = i;
    std::shuffle(pages.begin(), pages.end(), std::mt19937_64(7));
    std::vector<char> buffer(page);
    for (uint64_t p : pages) {
      if (::pread(fd, buffer.data(), page, static_cast<off_t>(p * page)) < 0) {
        return Errno("pread", path);
      }
    }
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
  return absl::OkStatus();
}

absl::StatusOr<double> ResidentFraction(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno("fstat", path);
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) return 1.0;
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return Errno("mmap", path);
  absl::Cleanup unmap = [addr, size] { ::munmap(addr, size); };
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((size + page - 1) / page);
  if (::mincore(addr, size, vec.data()) != 0) return Errno("mincore", path);
  const size_t resident = static_cast<size_t>(std::count_if(
      vec.begin(), vec.end(), [](unsigned char v) { return v & 1; }));
  return static_cast<double>(resident) / static_cast<double>(vec.size());
}

std::string MachineDescription() {
  struct utsname uts;
  std::string kernel = ::uname(&uts) == 0 ? uts.release : "unknown";
  std::string cpu = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  return absl::StrCat("nproc=", std::thread::hardware_concurrency(), ", Linux ",
                      kernel, ", ", cpu);
}

}  // namespace bench
}  // namespace smmap
