// The workload's process tree: a child that leaves the process group (setsid) is still stopped,
// and the workload is not "gone" while it lives.
#include "flopline/killswitch/workload.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "flopline/killswitch/protocol.h"

namespace flopline::killswitch {
namespace {

// Issue 10, kill switch item 7: "confirmed stopped" was claimed while a setsid child survived.
TEST(Workload, ASetsidChildIsStoppedBeforeTheWorkloadCountsAsGone) {
  auto w = Workload::Start({"sh", "-c", "setsid sleep 600 & sleep 600"});
  ASSERT_TRUE(w) << w.error().message;
  // Bounded wait for both sleeps to exist (the shell, its sleep, the setsid sleep).
  std::int64_t deadline = MonotonicMs() + 30'000;
  while (w->Descendants().size() < 3 && MonotonicMs() < deadline) usleep(10'000);
  std::vector<pid_t> before = w->Descendants();
  ASSERT_GE(before.size(), 3u);
  // Killing the process group alone leaves the setsid child: not gone.
  kill(-w->pgid(), SIGKILL);
  deadline = MonotonicMs() + 30'000;
  while (kill(-w->pgid(), 0) == 0 && MonotonicMs() < deadline) {
    w->Gone();
    usleep(10'000);
  }
  EXPECT_FALSE(w->Gone()) << "the setsid child is still alive";
  EXPECT_EQ(w->Descendants().size(), 1u);
  // Stop() reaches it.
  w->Stop(5000);
  EXPECT_TRUE(w->Gone());
  EXPECT_TRUE(w->Descendants().empty());
  for (pid_t pid : before) EXPECT_TRUE(kill(pid, 0) != 0) << pid;
}

}  // namespace
}  // namespace flopline::killswitch
