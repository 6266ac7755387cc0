// Bad inputs and hostile situations, one row each: what is done, the exact
// Status code expected, and what its message must name (the file and the
// numbers). docs/design.md section 5 is the contract.

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/smmap.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::testing::kPage;
using ::smmap::testing::RandomBytes;
using ::smmap::testing::Str;
using ::smmap::testing::TempPath;
using ::smmap::testing::TestFile;
using ::testing::HasSubstr;

// What a row expects.
struct Outcome {
  absl::Status status;
  absl::StatusCode code;
  std::vector<std::string> message_has;
};

struct Row {
  const char* name;
  std::function<Outcome()> run;
};

// The guide's sample file: 20 bytes, zeros but the last, 0xee.
TestFile Sample() { return TestFile::Zeros("sample", 20, 0xee); }

std::unique_ptr<TilingMemmapManager> Tiling(uint64_t window_pages,
                                            uint64_t max_files = 8) {
  ManagerOptions options;
  options.window_size = window_pages * kPage;
  options.max_open_files = max_files;
  return std::move(*TilingMemmapManager::Create(options));
}

// A sparse file of `size` bytes with `text` written at `offset`.
std::string SparseFile(uint64_t size, uint64_t offset,
                       const std::string& text) {
  const std::string path = TempPath("sparse");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0 ||
      ::pwrite(fd, text.data(), text.size(), static_cast<off_t>(offset)) !=
          static_cast<ssize_t>(text.size())) {
    std::perror(path.c_str());
    std::abort();
  }
  ::close(fd);
  return path;
}

// Runs `fn` in a child process without capabilities (so that root, as in
// Bazel's sandbox, is held to file modes like anyone) and returns the status
// it reports.
absl::Status AsNobody(const std::function<absl::Status()>& fn) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return absl::InternalError("pipe");
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fds[0]);
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capset, &header, data) != 0) ::_exit(3);
    const absl::Status status = fn();
    const std::string report =
        absl::StrCat(static_cast<int>(status.code()), " ", status.message());
    if (::write(pipe_fds[1], report.data(), report.size()) < 0) ::_exit(4);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string report;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) {
    report.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);
  const size_t space = report.find(' ');
  if (space == std::string::npos) return absl::InternalError("child failed");
  return absl::Status(
      static_cast<absl::StatusCode>(std::stoi(report.substr(0, space))),
      report.substr(space + 1));
}

std::vector<Row> Rows() {
  std::vector<Row> rows;
  auto add = [&rows](const char* name, std::function<Outcome()> run) {
    rows.push_back({name, std::move(run)});
  };

  // --- Files that cannot be mapped ---
  add("missing file", [] {
    TilingMemmapManager mman;
    const std::string path = TempPath("missing");
    return Outcome{mman.MakeCursor(path).status(),
                   absl::StatusCode::kNotFound,
                   {"stat(" + path + "): No such file or directory"}};
  });
  add("path through a regular file (ENOTDIR)", [] {
    TestFile file = TestFile::Random("notdir", 10, 1);
    TilingMemmapManager mman;
    const std::string path = file.path() + "/child";
    return Outcome{mman.MakeCursor(path).status(),
                   absl::StatusCode::kNotFound,
                   {"stat(" + path + "): Not a directory"}};
  });
  add("directory", [] {
    const std::string dir = TempPath("dir");
    ::mkdir(dir.c_str(), 0700);
    TilingMemmapManager mman;
    return Outcome{mman.MakeCursor(dir).status(),
                   absl::StatusCode::kInvalidArgument,
                   {"Not a regular file (directory): " + dir}};
  });
  add("FIFO (opened without blocking)", [] {
    const std::string fifo = TempPath("fifo");
    ::mkfifo(fifo.c_str(), 0600);
    TilingMemmapManager mman;
    return Outcome{mman.MakeSlidingCursor(fifo).status(),
                   absl::StatusCode::kInvalidArgument,
                   {"Not a regular file (FIFO): " + fifo}};
  });
  add("file under /proc whose size reads as 0: an empty cursor", [] {
    TilingMemmapManager mman;
    absl::StatusOr<FixedCursor> c = mman.MakeCursor("/proc/self/status");
    const bool empty = c.ok() && c->size() == 0 && c->buffer().empty();
    return Outcome{
        c.ok() && !empty ? absl::InternalError("not empty") : c.status(),
        absl::StatusCode::kOk,
        {}};
  });
  add("file under /proc, offset 1", [] {
    TilingMemmapManager mman;
    return Outcome{
        mman.MakeCursor("/proc/self/status", 1).status(),
        absl::StatusCode::kOutOfRange,
        {"Offset(1) beyond file-size(0) for file: /proc/self/status"}};
  });
  add("no read permission", [] {
    // In /tmp, so that only the file's own mode stands in the way.
    const std::string path = absl::StrCat("/tmp/smmap-noperm-", ::getpid());
    smmap::testing::WriteFile(path, RandomBytes(20, 1));
    ::chmod(path.c_str(), 0);
    const absl::Status status = AsNobody([&path] {
      TilingMemmapManager mman;
      return mman.MakeCursor(path).status();
    });
    ::unlink(path.c_str());
    return Outcome{status,
                   absl::StatusCode::kPermissionDenied,
                   {"open(" + path + "): Permission denied"}};
  });
  add("NUL inside a path", [] {
    TilingMemmapManager mman;
    return Outcome{mman.MakeCursor(absl::string_view("/tmp/a\0b", 8)).status(),
                   absl::StatusCode::kInvalidArgument,
                   {"Path contains a NUL character"}};
  });
  add("empty path", [] {
    TilingMemmapManager mman;
    return Outcome{mman.MakeCursor("").status(),
                   absl::StatusCode::kInvalidArgument,
                   {"Empty path"}};
  });

  // --- Offsets and sizes ---
  add("empty file: an empty cursor", [] {
    TestFile file("empty", {});
    TilingMemmapManager mman;
    absl::StatusOr<FixedCursor> c = mman.MakeCursor(file.path());
    const bool ok = c.ok() && c->size() == 0 && mman.num_open_regions() == 0;
    return Outcome{c.ok() && !ok ? absl::InternalError("mapped") : c.status(),
                   absl::StatusCode::kOk,
                   {}};
  });
  add("offset equal to the size", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    return Outcome{
        mman.MakeCursor(file.path(), 20).status(),
        absl::StatusCode::kOutOfRange,
        {"Offset(20) beyond file-size(20) for file: " + file.path()}};
  });
  add("offset beyond the size", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    return Outcome{
        mman.MakeSlidingCursor(file.path(), 21).status(),
        absl::StatusCode::kOutOfRange,
        {"Offset(21) beyond file-size(20) for file: " + file.path()}};
  });
  add("offset + size overflowing 64 bits", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    return Outcome{mman.MakeCursor(file.path(), 10, UINT64_MAX - 5).status(),
                   absl::StatusCode::kInvalidArgument,
                   {"size(18446744073709551610)", file.path()}};
  });
  add("negative offset (converted to uint64_t)", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    const int64_t negative = -3;
    return Outcome{
        mman.MakeCursor(file.path(), static_cast<uint64_t>(negative)).status(),
        absl::StatusCode::kInvalidArgument,
        {"offset(18446744073709551613)", "negative", file.path()}};
  });
  add("size beyond the end: cut at the end", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    absl::StatusOr<FixedCursor> c = mman.MakeCursor(file.path(), 15, 1000);
    return Outcome{
        c.ok() && c->size() != 5 ? absl::InternalError("not cut") : c.status(),
        absl::StatusCode::kOk,
        {}};
  });
  add("negative index out of range", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    absl::StatusOr<SlidingCursor> c = mman.MakeSlidingCursor(file.path());
    return Outcome{
        c->At(-21).status(),
        absl::StatusCode::kOutOfRange,
        {"Index(-21) out of range for the sliding cursor of size(20)",
         file.path()}};
  });
  add("read range past the end of a sliding cursor", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    absl::StatusOr<SlidingCursor> c = mman.MakeSlidingCursor(file.path(), 5);
    uint8_t dst[16];
    return Outcome{c->Read(0, absl::MakeSpan(dst)),
                   absl::StatusCode::kOutOfRange,
                   {"Range [0, 0 + 16)", "size(15)", file.path()}};
  });

  add("guarded read range past the end of a sliding cursor", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    absl::StatusOr<SlidingCursor> c = mman.MakeSlidingCursor(file.path(), 5);
    uint8_t dst[16];
    return Outcome{c->ReadGuarded(0, absl::MakeSpan(dst)),
                   absl::StatusCode::kOutOfRange,
                   {"Range [0, 0 + 16)", "size(15)", file.path()}};
  });

  // --- Closed and moved-from objects ---
  add("closed manager", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    mman.Close();
    return Outcome{mman.MakeCursor(file.path()).status(),
                   absl::StatusCode::kFailedPrecondition,
                   {"MakeCursor on a closed manager for file: " + file.path()}};
  });
  add("second Release()", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    absl::StatusOr<FixedCursor> c = mman.MakeCursor(file.path(), 3, 4);
    c->Release().IgnoreError();
    return Outcome{c->Release(),
                   absl::StatusCode::kFailedPrecondition,
                   {"already closed (offset 3, size 4, file: " + file.path()}};
  });
  add("moved-from cursor", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    absl::StatusOr<FixedCursor> c = mman.MakeCursor(file.path());
    FixedCursor taken = std::move(*c);
    return Outcome{c->NextCursor().status(),
                   absl::StatusCode::kFailedPrecondition,
                   {"bound to no manager (default-constructed or moved from)"}};
  });
  add("moved-from sliding cursor: empty", [] {
    TestFile file = Sample();
    TilingMemmapManager mman;
    absl::StatusOr<SlidingCursor> c = mman.MakeSlidingCursor(file.path());
    SlidingCursor taken = std::move(*c);
    return Outcome{
        c->size() != 0 ? absl::InternalError("not empty") : c->At(0).status(),
        absl::StatusCode::kOutOfRange,
        {"Index(0) out of range for the sliding cursor of size(0)"}};
  });
  add("sliding cursor after its manager was destroyed: still reads", [] {
    TestFile file = Sample();
    auto mman = std::make_unique<TilingMemmapManager>();
    absl::StatusOr<SlidingCursor> c = mman->MakeSlidingCursor(file.path());
    mman.reset();
    absl::StatusOr<uint8_t> last = c->At(-1);
    return Outcome{last.ok() && *last != 0xee
                       ? absl::InternalError("wrong byte")
                       : last.status(),
                   absl::StatusCode::kOk,
                   {}};
  });
  add("sliding cursor after its manager was destroyed: beyond its end", [] {
    TestFile file = Sample();
    auto mman = std::make_unique<TilingMemmapManager>();
    absl::StatusOr<SlidingCursor> c = mman->MakeSlidingCursor(file.path());
    mman.reset();
    return Outcome{c->At(20).status(),
                   absl::StatusCode::kOutOfRange,
                   {"Index(20) out of range for the sliding cursor of size(20)",
                    file.path()}};
  });

  // --- Descriptors ---
  add("invalid descriptor", [] {
    TilingMemmapManager mman;
    return Outcome{mman.MakeCursor(-1).status(),
                   absl::StatusCode::kInvalidArgument,
                   {"Invalid file descriptor: -1"}};
  });
  add("descriptor of a socket", [] {
    int fds[2];
    ::socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    TilingMemmapManager mman;
    const absl::Status status = mman.MakeCursor(fds[0]).status();
    const std::string name = absl::StrCat("fd ", fds[0]);
    ::close(fds[0]);
    ::close(fds[1]);
    return Outcome{status,
                   absl::StatusCode::kInvalidArgument,
                   {"Not a regular file (socket): " + name}};
  });
  add("descriptor that is not open", [] {
    TilingMemmapManager mman;
    return Outcome{mman.MakeCursor(1000000).status(),
                   absl::StatusCode::kFailedPrecondition,
                   {"fstat(fd 1000000): Bad file descriptor"}};
  });
  add("descriptor closed by its owner after use", [] {
    TestFile file = TestFile::Random("owned", 6 * kPage, 1);
    const int fd = ::open(file.path().c_str(), O_RDONLY);
    auto mman = Tiling(2);
    absl::StatusOr<FixedCursor> before = mman->MakeCursor(fd, 0, 10);
    ::close(fd);
    // What is mapped stays readable; a new region needs the descriptor.
    const bool readable = Str(before->buffer()) == file.Range(0, 10);
    absl::Status status = mman->MakeCursor(fd, 4 * kPage, 10).status();
    return Outcome{readable ? status : absl::InternalError("unreadable"),
                   absl::StatusCode::kFailedPrecondition,
                   {absl::StrCat("fstat(fd ", fd, "): Bad file descriptor")}};
  });

  // --- Options ---
  add("window size 0: whole files", [] {
    TestFile file = TestFile::Random("whole", 5 * kPage + 3, 2);
    ManagerOptions options;
    options.window_size = 0;
    auto mman = std::move(*TilingMemmapManager::Create(options));
    absl::StatusOr<FixedCursor> c = mman->MakeCursor(file.path(), 7);
    return Outcome{c.ok() && c->ofs_end() != file.size()
                       ? absl::InternalError("cut")
                       : c.status(),
                   absl::StatusCode::kOk,
                   {}};
  });
  add("odd window size: rounded up to two pages", [] {
    ManagerOptions options;
    options.window_size = 5001;
    auto mman = TilingMemmapManager::Create(options);
    return Outcome{mman.ok() && (*mman)->window_size() != 2 * kPage
                       ? absl::InternalError("not rounded")
                       : mman.status(),
                   absl::StatusCode::kOk,
                   {}};
  });
  add("window size beyond 2^62", [] {
    ManagerOptions options;
    options.window_size = UINT64_MAX;
    return Outcome{TilingMemmapManager::Create(options).status(),
                   absl::StatusCode::kInvalidArgument,
                   {"window_size(18446744073709551615) is larger than 2^62"}};
  });
  add("zero budget, soft: nothing stays cached", [] {
    TestFile file = Sample();
    ManagerOptions options;
    options.max_memory_size = 0;
    auto mman = std::move(*TilingMemmapManager::Create(options));
    absl::Status status = mman->MakeCursor(file.path()).status();
    return Outcome{status.ok() && mman->num_open_regions() != 0
                       ? absl::InternalError("cached")
                       : status,
                   absl::StatusCode::kOk,
                   {}};
  });
  add("zero budget, hard", [] {
    ManagerOptions options;
    options.max_memory_size = 0;
    options.hard_limits = true;
    return Outcome{GreedyMemmapManager::Create(options).status(),
                   absl::StatusCode::kInvalidArgument,
                   {"max_memory_size(0) with hard_limits"}};
  });
  add("hard budget below the window", [] {
    ManagerOptions options;
    options.window_size = 8 * kPage;
    options.max_memory_size = 4 * kPage + 1;
    options.hard_limits = true;
    return Outcome{
        TilingMemmapManager::Create(options).status(),
        absl::StatusCode::kInvalidArgument,
        {absl::StrCat("max_memory_size(", 4 * kPage + 1,
                      ") with hard_limits is smaller than window_size(",
                      8 * kPage, ")")}};
  });
  add("hard budget reached with every region in use", [] {
    TestFile file = TestFile::Random("hard", 6 * kPage, 3);
    ManagerOptions options;
    options.window_size = 2 * kPage;
    options.max_memory_size = 2 * kPage;
    options.hard_limits = true;
    auto mman = std::move(*TilingMemmapManager::Create(options));
    absl::StatusOr<FixedCursor> held = mman->MakeCursor(file.path(), 0, 1);
    return Outcome{
        mman->MakeCursor(file.path(), 4 * kPage, 1).status(),
        absl::StatusCode::kResourceExhausted,
        {absl::StrCat("Mapping ", 2 * kPage, " bytes of ", file.path(),
                      " would exceed max_memory_size(", 2 * kPage,
                      "): ", 2 * kPage, " bytes are mapped in 1 regions")}};
  });
  add("greedy: file larger than the window", [] {
    TestFile file = TestFile::Random("greedy", 3 * kPage, 4);
    ManagerOptions options;
    options.window_size = 2 * kPage;
    auto mman = std::move(*GreedyMemmapManager::Create(options));
    return Outcome{
        mman->MakeCursor(file.path()).status(),
        absl::StatusCode::kOutOfRange,
        {absl::StrCat("File-size exceeds window-size limit: file-size(",
                      3 * kPage, ") > window-size(", 2 * kPage,
                      ") for file: ", file.path())}};
  });

  // --- Files that change ---
  add("file grown between cursors", [] {
    TestFile file = TestFile::Random("grow", kPage, 5);
    auto mman = Tiling(4);
    absl::Status first = mman->MakeCursor(file.path()).status();
    file.Rewrite(RandomBytes(3 * kPage, 6));
    absl::StatusOr<FixedCursor> c =
        mman->MakeCursor(file.path(), 2 * kPage + 1, 5);
    const bool fresh = c.ok() && c->file_size() == 3 * kPage &&
                       Str(c->buffer()) == file.Range(2 * kPage + 1, 5);
    return Outcome{first.ok() && c.ok() && !fresh ? absl::InternalError("stale")
                                                  : c.status(),
                   absl::StatusCode::kOk,
                   {}};
  });
  add("file truncated between cursors", [] {
    TestFile file = TestFile::Random("truncate", 4 * kPage, 7);
    auto mman = Tiling(2);
    mman->MakeCursor(file.path()).status().IgnoreError();
    ::truncate(file.path().c_str(), static_cast<off_t>(kPage));
    return Outcome{mman->MakeCursor(file.path(), 3 * kPage).status(),
                   absl::StatusCode::kOutOfRange,
                   {absl::StrCat("Offset(", 3 * kPage, ") beyond file-size(",
                                 kPage, ") for file: ", file.path()),
                    absl::StrCat("(it shrank from ", 4 * kPage, " bytes)")}};
  });
  add("file truncated below a sliding cursor's range", [] {
    TestFile file = TestFile::Random("truncate", 4 * kPage, 8);
    auto mman = Tiling(2);
    absl::StatusOr<SlidingCursor> c = mman->MakeSlidingCursor(file.path());
    ::truncate(file.path().c_str(), static_cast<off_t>(kPage));
    return Outcome{
        c->At(3 * kPage).status(),
        absl::StatusCode::kDataLoss,
        {absl::StrCat("File shrank to ", kPage, " bytes, below offset ",
                      3 * kPage, " of the sliding cursor on [0, ", 4 * kPage,
                      ") made when it had ", 4 * kPage,
                      " bytes: ", file.path())}};
  });
  add("file truncated under a mapped cursor: guarded read", [] {
    TestFile file = TestFile::Random("sigbus", 4 * kPage, 9);
    auto mman = Tiling(8);
    absl::StatusOr<FixedCursor> c = mman->MakeCursor(file.path());
    ::truncate(file.path().c_str(), static_cast<off_t>(kPage));
    std::vector<uint8_t> dst(c->size());
    return Outcome{c->ReadGuarded(0, absl::MakeSpan(dst)),
                   absl::StatusCode::kDataLoss,
                   {absl::StrCat("File shrank while mapped: reading offset ",
                                 kPage, " raised SIGBUS"),
                    file.path()}};
  });
  add("file replaced by rename: a sliding cursor refuses to mix files", [] {
    TestFile file = TestFile::Random("replaced", 4 * kPage, 10);
    auto mman = Tiling(2, /*max_files=*/0);
    absl::StatusOr<SlidingCursor> c = mman->MakeSlidingCursor(file.path());
    c->At(0).status().IgnoreError();
    const std::string tmp = TempPath("new");
    smmap::testing::WriteFile(tmp, RandomBytes(4 * kPage, 11));
    ::rename(tmp.c_str(), file.path().c_str());
    return Outcome{c->At(3 * kPage).status(),
                   absl::StatusCode::kFailedPrecondition,
                   {"File was replaced (device:inode", file.path()}};
  });
  add("file replaced by rename: new cursors see the new file", [] {
    TestFile file = TestFile::Random("replaced", 4 * kPage, 12);
    auto mman = Tiling(2, /*max_files=*/0);
    mman->MakeCursor(file.path()).status().IgnoreError();
    const std::vector<uint8_t> fresh = RandomBytes(4 * kPage, 13);
    const std::string tmp = TempPath("new");
    smmap::testing::WriteFile(tmp, fresh);
    ::rename(tmp.c_str(), file.path().c_str());
    absl::StatusOr<FixedCursor> c = mman->MakeCursor(file.path(), 3 * kPage, 8);
    const bool is_new =
        c.ok() &&
        Str(c->buffer()) == std::string(fresh.begin() + 3 * kPage,
                                        fresh.begin() + 3 * kPage + 8);
    return Outcome{
        c.ok() && !is_new ? absl::InternalError("old bytes") : c.status(),
        absl::StatusCode::kOk,
        {}};
  });
  add("file deleted while mapped: still readable, then gone", [] {
    TestFile file = TestFile::Random("deleted", 4 * kPage, 14);
    const std::vector<uint8_t> bytes = file.bytes();
    const std::string path = file.path();
    auto mman = Tiling(2);
    absl::StatusOr<FixedCursor> c = mman->MakeCursor(path, 5, 10);
    ::unlink(path.c_str());
    // The manager's descriptor keeps the file alive for more regions.
    absl::StatusOr<FixedCursor> more = mman->MakeCursor(path, 3 * kPage, 10);
    const bool readable =
        Str(c->buffer()) ==
            std::string(bytes.begin() + 5, bytes.begin() + 15) &&
        more.ok() &&
        Str(more->buffer()) == std::string(bytes.begin() + 3 * kPage,
                                           bytes.begin() + 3 * kPage + 10);
    c->Close();
    more->Close();
    mman->Collect();  // descriptor closed: the name is gone
    absl::Status status = mman->MakeCursor(path).status();
    return Outcome{readable ? status : absl::InternalError("unreadable"),
                   absl::StatusCode::kNotFound,
                   {"open(" + path + ")"}};
  });

  // --- Huge sparse files ---
  add("sparse file, bytes across 2^32", [] {
    const uint64_t at = (uint64_t{1} << 32) - 3;
    const std::string path =
        SparseFile((uint64_t{1} << 32) + kPage, at, "across4G");
    TilingMemmapManager mman;
    absl::StatusOr<FixedCursor> c = mman.MakeCursor(path, at, 8);
    const bool right = c.ok() && Str(c->buffer()) == "across4G";
    ::unlink(path.c_str());
    return Outcome{
        c.ok() && !right ? absl::InternalError("wrong bytes") : c.status(),
        absl::StatusCode::kOk,
        {}};
  });
  add("sparse file, bytes across 2^40", [] {
    const uint64_t at = (uint64_t{1} << 40) - 4;
    const std::string path =
        SparseFile((uint64_t{1} << 40) + 100, at, "across1T");
    TilingMemmapManager tiling;
    absl::StatusOr<SlidingCursor> s = tiling.MakeSlidingCursor(path);
    absl::StatusOr<Bytes> bytes =
        s->Slice(static_cast<int64_t>(at), static_cast<int64_t>(at + 8));
    const bool right = bytes.ok() && *bytes == "across1T";
    ::unlink(path.c_str());
    return Outcome{bytes.ok() && !right ? absl::InternalError("wrong bytes")
                                        : bytes.status(),
                   absl::StatusCode::kOk,
                   {}};
  });
  add("sparse file near 2^40: offset beyond the end", [] {
    const uint64_t size = (uint64_t{1} << 40) + 100;
    const std::string path = SparseFile(size, 0, "x");
    TilingMemmapManager mman;
    absl::Status status = mman.MakeCursor(path, size + 1).status();
    ::unlink(path.c_str());
    return Outcome{
        status,
        absl::StatusCode::kOutOfRange,
        {absl::StrCat("Offset(", size + 1, ") beyond file-size(", size, ")")}};
  });
  return rows;
}

class RobustnessTest : public ::testing::TestWithParam<Row> {};

TEST_P(RobustnessTest, GivesTheDocumentedStatus) {
  const Row& row = GetParam();
  const Outcome outcome = row.run();
  EXPECT_EQ(outcome.status.code(), outcome.code)
      << row.name << ": " << outcome.status;
  for (const std::string& part : outcome.message_has) {
    EXPECT_THAT(std::string(outcome.status.message()), HasSubstr(part))
        << row.name;
  }
  std::printf("%-60s -> %s\n", row.name, outcome.status.ToString().c_str());
}

TEST(RobustnessTableTest, HasAtLeast25Rows) { EXPECT_GE(Rows().size(), 25u); }

// README: each error row checks its exact code and message; each row that
// must succeed checks, inside its run(), the bytes or sizes that show it did
// (a wrong result turns into an Internal error).
TEST(RobustnessTableTest, EveryErrorRowChecksItsMessage) {
  for (const Row& row : Rows()) {
    const Outcome outcome = row.run();
    if (outcome.code == absl::StatusCode::kOk) continue;
    EXPECT_FALSE(outcome.message_has.empty()) << row.name;
    for (const std::string& part : outcome.message_has) {
      EXPECT_FALSE(part.empty()) << row.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, RobustnessTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& info) {
                           std::string name;
                           for (const char* p = info.param.name; *p; ++p) {
                             name +=
                                 std::isalnum(static_cast<unsigned char>(*p))
                                     ? *p
                                     : '_';
                           }
                           return absl::StrCat(info.index, "_", name);
                         });

}  // namespace
}  // namespace smmap
