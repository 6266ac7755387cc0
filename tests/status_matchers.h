// GoogleTest matchers and macros for absl::Status and absl::StatusOr (this
// abseil and GoogleTest release ship none).
//
//   EXPECT_OK(manager.Collect());
//   EXPECT_THAT(mman.MakeCursor(path, 21),
//               StatusIs(absl::StatusCode::kOutOfRange,
//                        HasSubstr("Offset(21) beyond file-size(20)")));
//   ASSERT_OK_AND_ASSIGN(smmap::FixedCursor c, mman.MakeCursor(path));

#ifndef SMMAP_TESTS_STATUS_MATCHERS_H_
#define SMMAP_TESTS_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smmap {
namespace testing_internal {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code,
                  ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    *listener << "whose status is " << status;
    return status.code() == code_ &&
           message_.Matches(std::string(status.message()));
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has status code " << absl::StatusCodeToString(code_)
        << " and a message that ";
    message_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "does not have status code " << absl::StatusCodeToString(code_)
        << " or a message that ";
    message_.DescribeTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

class IsOkMatcher {
 public:
  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    *listener << "whose status is " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

}  // namespace testing_internal

// Matches a Status or StatusOr with `code` and a message matching `message`.
inline ::testing::PolymorphicMatcher<testing_internal::StatusIsMatcher>
StatusIs(absl::StatusCode code,
         ::testing::Matcher<const std::string&> message = ::testing::_) {
  return ::testing::MakePolymorphicMatcher(
      testing_internal::StatusIsMatcher(code, std::move(message)));
}

inline ::testing::PolymorphicMatcher<testing_internal::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(testing_internal::IsOkMatcher());
}

}  // namespace smmap

#define EXPECT_OK(expr) EXPECT_THAT((expr), ::smmap::IsOk())
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::smmap::IsOk())

#define SMMAP_TEST_CONCAT_INNER_(a, b) a##b
#define SMMAP_TEST_CONCAT_(a, b) SMMAP_TEST_CONCAT_INNER_(a, b)

// Asserts that `expr` (a StatusOr) is OK and moves its value into `lhs`.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                    \
  ASSERT_OK_AND_ASSIGN_IMPL_(SMMAP_TEST_CONCAT_(smmap_test_so_, __LINE__), \
                             lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  ASSERT_THAT(statusor, ::smmap::IsOk());               \
  lhs = std::move(statusor).value()

#endif  // SMMAP_TESTS_STATUS_MATCHERS_H_
