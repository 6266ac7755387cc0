#include "tools/bench/bench_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <regex>  // NOLINT(build/c++11): no RE2 here
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace smmap {
namespace bench {

absl::StatusOr<BenchFile> BenchFile::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat(", path, ")"));
  }
  if (st.st_size < static_cast<off_t>(16 * kMiB)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": ", st.st_size, " bytes; the benchmarks need at least 16 MiB"));
  }
  BenchFile file;
  file.path = path;
  file.size = static_cast<uint64_t>(st.st_size);
  file.page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::mt19937_64 rng(99);
  file.random_offsets.resize(1 << 16);
  const uint64_t pages = file.size / (4 * kKiB) - 1;
  for (uint64_t& o : file.random_offsets) o = (rng() % pages) * 4 * kKiB;
  return file;
}

int OpenOrDie(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  return fd;
}

int BenchFile::OpenOrDie() const { return bench::OpenOrDie(path); }

Registrar::Registrar(int repetitions, double min_time_s,
                     const std::string& filter)
    : repetitions_(repetitions), min_time_s_(min_time_s) {
  if (!filter.empty()) filter_.emplace(filter);
}

bool Registrar::ValidFilter(const std::string& filter) {
  try {
    std::regex compiled(filter);
    return true;
  } catch (const std::regex_error&) {
    return false;
  }
}

benchmark::internal::Benchmark* Registrar::Register(
    const std::string& name, const std::string& full_name,
    std::function<void(benchmark::State&)> run, benchmark::TimeUnit unit) {
  if (filter_.has_value() && !std::regex_search(full_name, *filter_)) {
    return nullptr;
  }
  names_.push_back(full_name);
  benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(
      name.c_str(),
      [run = std::move(run)](benchmark::State& state) { run(state); });
  b->Unit(unit)->UseRealTime()->MinTime(min_time_s_);
  if (repetitions_ > 1) b->Repetitions(repetitions_)->ReportAggregatesOnly();
  return b;
}

void Registrar::Add(const std::string& name,
                    std::function<void(benchmark::State&)> run,
                    benchmark::TimeUnit unit) {
  Register(name, name, std::move(run), unit);
}

void Registrar::AddThreaded(const std::string& name,
                            const std::function<void(benchmark::State&)>& run,
                            std::initializer_list<int> threads) {
  for (int n : threads) {
    // Google Benchmark adds "/threads:N" to the name it reports.
    benchmark::internal::Benchmark* b = Register(
        name, absl::StrCat(name, "/threads:", n), run, benchmark::kNanosecond);
    if (b != nullptr) b->Threads(n);
  }
}

void Fail(benchmark::State& state, const absl::Status& status) {
  state.SkipWithError(std::string(status.message()).c_str());
}

void SetBytes(benchmark::State& state, uint64_t per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(per_iteration));
}

}  // namespace bench
}  // namespace smmap
