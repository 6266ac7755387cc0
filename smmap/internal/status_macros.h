// Macros that keep Status-returning call sites flat.
//
//   SMMAP_RETURN_IF_ERROR(DoThing());
//   SMMAP_ASSIGN_OR_RETURN(Foo foo, MakeFoo());
//
// Internal to smmap: not part of the public API.

#ifndef SMMAP_INTERNAL_STATUS_MACROS_H_
#define SMMAP_INTERNAL_STATUS_MACROS_H_

#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SMMAP_RETURN_IF_ERROR(expr)                                    \
  do {                                                                 \
    ::absl::Status smmap_status_ = (expr);                             \
    if (ABSL_PREDICT_FALSE(!smmap_status_.ok())) return smmap_status_; \
  } while (false)

#define SMMAP_STATUS_CONCAT_INNER_(a, b) a##b
#define SMMAP_STATUS_CONCAT_(a, b) SMMAP_STATUS_CONCAT_INNER_(a, b)

#define SMMAP_ASSIGN_OR_RETURN(lhs, expr) \
  SMMAP_ASSIGN_OR_RETURN_IMPL_(           \
      SMMAP_STATUS_CONCAT_(smmap_statusor_, __LINE__), lhs, expr)

#define SMMAP_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) {               \
    return std::move(statusor).status();                  \
  }                                                       \
  lhs = std::move(statusor).value()

#endif  // SMMAP_INTERNAL_STATUS_MACROS_H_
