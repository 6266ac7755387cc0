// internal/file_table.h on its own: entries by name, the descriptor LRU and
// its budget, with slots for descriptors being opened and closed.

#include "smmap/internal/file_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include "gtest/gtest.h"
#include "smmap/internal/handles.h"

namespace smmap {
namespace internal {
namespace {

UniqueFd DevNull() { return UniqueFd(::open("/dev/null", O_RDONLY)); }

// Opens a descriptor for `file` in a reserved slot.
void Open(FileTable& table, FileEntry* file) {
  ASSERT_TRUE(table.SlotFree());
  table.ReserveSlot();
  table.Adopt(file, DevNull());
}

TEST(FileTableTest, EntriesByPathAndDescriptor) {
  FileTable table(4);
  FileEntry* a = table.FindOrAdd(FileRef("a"));
  EXPECT_EQ(a->refs, 1u);
  EXPECT_FALSE(a->examined);
  EXPECT_EQ(table.FindOrAdd(FileRef("a")), a);
  EXPECT_EQ(a->refs, 2u);
  FileEntry* fd = table.FindOrAdd(FileRef(7));
  EXPECT_NE(fd, a);
  EXPECT_EQ(table.Find(FileRef(7)), fd);
  EXPECT_EQ(fd->Name(), "fd 7");
  EXPECT_EQ(table.Find(FileRef("b")), nullptr);
  EXPECT_EQ(table.size(), 2u);

  table.Detach(a);  // the name now denotes another file
  EXPECT_EQ(table.Find(FileRef("a")), nullptr);
  FileEntry* a2 = table.FindOrAdd(FileRef("a"));
  EXPECT_NE(a2, a);
  EXPECT_EQ(table.size(), 3u);

  Releases releases;
  for (FileEntry* e : {a, a, fd, a2}) {
    --e->refs;
    table.MaybeDelete(e, /*closed=*/false, &releases);
  }
  EXPECT_TRUE(table.empty());
}

TEST(FileTableTest, AnAttachedEntryKeepsItsDescriptorUntilClosed) {
  FileTable table(4);
  FileEntry* a = table.FindOrAdd(FileRef("a"));
  Open(table, a);
  EXPECT_EQ(table.num_open(), 1u);
  EXPECT_EQ(table.files_opened(), 1u);
  --a->refs;
  Releases releases;
  EXPECT_FALSE(table.MaybeDelete(a, /*closed=*/false, &releases));
  EXPECT_EQ(table.Find(FileRef("a")), a);
  ++a->num_regions;  // a region keeps it too
  EXPECT_FALSE(table.MaybeDelete(a, /*closed=*/true, &releases));
  --a->num_regions;
  EXPECT_TRUE(table.MaybeDelete(a, /*closed=*/true, &releases));
  EXPECT_EQ(releases.closes.size(), 1u);
  EXPECT_EQ(table.num_open(), 0u);
  EXPECT_EQ(table.closing(), 1u);  // until the caller closes it
  EXPECT_EQ(table.files_closed(), 1u);
}

TEST(FileTableTest, SlotsCountDescriptorsOpeningAndClosing) {
  FileTable table(2);
  FileEntry* a = table.FindOrAdd(FileRef("a"));
  FileEntry* b = table.FindOrAdd(FileRef("b"));
  Open(table, a);
  table.ReserveSlot();  // b is being opened
  EXPECT_FALSE(table.SlotFree());
  table.Adopt(b, DevNull());
  EXPECT_FALSE(table.SlotFree());
  Releases releases;
  table.CloseFd(a, &releases);
  EXPECT_FALSE(table.SlotFree());  // still open until closed
  releases.closes.clear();
  table.Closed(1);
  EXPECT_TRUE(table.SlotFree());
  table.ReserveSlot();
  table.Discard(DevNull(), &releases);  // opened, then not kept
  EXPECT_FALSE(table.SlotFree());
  releases.closes.clear();
  table.Closed(1);
  EXPECT_TRUE(table.SlotFree());
  table.ReserveSlot();
  table.UnreserveSlot();  // open() failed
  EXPECT_TRUE(table.SlotFree());
  for (FileEntry* e : {a, b}) {
    --e->refs;
    table.MaybeDelete(e, /*closed=*/true, &releases);
  }
  EXPECT_TRUE(table.empty());
}

TEST(FileTableTest, ABudgetOfZeroStillHasOneSlotForACall) {
  FileTable table(0);
  EXPECT_TRUE(table.SlotFree());
  FileEntry* a = table.FindOrAdd(FileRef("a"));
  Open(table, a);
  EXPECT_FALSE(table.SlotFree());
  Releases releases;
  table.CloseIdleFds(table.max_open_files(), /*evicting=*/true, false,
                     &releases);
  EXPECT_EQ(table.num_open(), 0u);
  EXPECT_EQ(table.fd_evictions(), 1u);
  --a->refs;
  table.MaybeDelete(a, false, &releases);
  EXPECT_TRUE(table.empty());
}

TEST(FileTableTest, IdleDescriptorsCloseLeastRecentlyUsedFirstSkippingBusy) {
  FileTable table(8);
  FileEntry* a = table.FindOrAdd(FileRef("a"));
  FileEntry* b = table.FindOrAdd(FileRef("b"));
  FileEntry* c = table.FindOrAdd(FileRef("c"));
  for (FileEntry* e : {a, b, c}) Open(table, e);
  table.Touch(a);  // order now b, c, a
  EXPECT_EQ(table.IdleFd(), b);
  b->busy = true;  // a loader uses it
  EXPECT_EQ(table.IdleFd(), c);
  Releases releases;
  table.CloseIdleFds(1, /*evicting=*/false, false, &releases);
  // c and a went (least recently used first); busy b stayed.
  EXPECT_EQ(table.num_open(), 1u);
  EXPECT_TRUE(b->owned_fd.valid());
  EXPECT_FALSE(a->owned_fd.valid());
  EXPECT_EQ(table.IdleFd(), nullptr);
  EXPECT_EQ(table.fd_evictions(), 0u);
  b->busy = false;
  table.CloseIdleFds(0, false, false, &releases);
  EXPECT_EQ(table.num_open(), 0u);
  for (FileEntry* e : {a, b, c}) {
    --e->refs;
    table.MaybeDelete(e, false, &releases);
  }
  EXPECT_TRUE(table.empty());
}

}  // namespace
}  // namespace internal
}  // namespace smmap
