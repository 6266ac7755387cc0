// smmap: windows into memory-mapped files.
//
// Include this header for the whole public API:
//  - smmap/manager.h         GreedyMemmapManager, TilingMemmapManager
//  - smmap/cursor.h          FixedCursor
//  - smmap/sliding_cursor.h  SlidingCursor
//  - smmap/options.h         ManagerOptions
//  - smmap/stats.h           ManagerStats
//  - smmap/file_ref.h        FileRef (a path or a descriptor)
//  - smmap/bytes.h           Bytes (slices)
//  - smmap/guarded_copy.h    GuardedCopy (SIGBUS-safe copies)

#ifndef SMMAP_SMMAP_H_
#define SMMAP_SMMAP_H_

#include "smmap/bytes.h"
#include "smmap/cursor.h"
#include "smmap/file_ref.h"
#include "smmap/guarded_copy.h"
#include "smmap/manager.h"
#include "smmap/options.h"
#include "smmap/sliding_cursor.h"
#include "smmap/stats.h"

#endif  // SMMAP_SMMAP_H_
