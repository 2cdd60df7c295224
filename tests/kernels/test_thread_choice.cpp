// cpu_backend::ThreadChoice, the per-shape choice between one thread and all of them for a
// large matrix product (backend/cpu/gemm.hpp): which way it tries first, which calls it
// does not count, and how rarely it retries the slower way.
#include <doctest/doctest.h>

#include "minibatch/backend/cpu/gemm.hpp"

using minibatch::cpu_backend::ThreadChoice;

namespace {

// Of the next `calls` choices, how many run on all threads.
int parallel_of(ThreadChoice& choice, int calls) {
  int n = 0;
  for (int k = 0; k < calls; ++k) n += choice.parallel() ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("ThreadChoice: all threads first, one thread next, a call that grew a buffer not counted") {
  ThreadChoice choice;
  CHECK(choice.parallel());
  choice.record(true, 5.0, /*grew=*/true);  // the first call sized the buffers: not counted
  CHECK(choice.parallel());
  choice.record(true, 1.0, false);
  CHECK_FALSE(choice.parallel());
  choice.record(false, 9.0, /*grew=*/true);
  CHECK_FALSE(choice.parallel());
  choice.record(false, 3.0, false);
  // All threads take 1 s against 3 s: 8 decided calls on all threads, the ninth a retry of
  // one thread, then (3 − 1) / (0.01 · 1) = 200 calls on all threads before the next retry.
  CHECK(parallel_of(choice, 8) == 8);
  CHECK(parallel_of(choice, 1) == 0);
  CHECK(parallel_of(choice, 199) == 199);
  CHECK(parallel_of(choice, 1) == 0);
}

TEST_CASE("ThreadChoice: a second core that loses keeps the product on one thread") {
  ThreadChoice choice;
  choice.record(true, 2.0, false);
  choice.record(false, 1.0, false);
  // 2 s against 1 s: the ninth decided call is a retry of all threads, the next one
  // (2 − 1) / (0.01 · 1) = 100 calls later.
  CHECK(parallel_of(choice, 8) == 0);
  CHECK(parallel_of(choice, 100) == 1);
  CHECK(parallel_of(choice, 1) == 1);
  // Within the margin (all threads must be 10% faster) one thread is kept too.
  ThreadChoice close;
  close.record(true, 0.95, false);
  close.record(false, 1.0, false);
  CHECK(parallel_of(close, 8) == 0);
  CHECK(parallel_of(close, 8) == 1);
}

TEST_CASE("ThreadChoice: one slow call does not decide; the median of the last three does") {
  ThreadChoice choice;
  choice.record(true, 8.0, false);  // the first counted call on all threads is an outlier
  choice.record(false, 2.0, false);
  // 8 s against 2 s: one thread, and the ninth decided call retries all threads.
  CHECK(parallel_of(choice, 8) == 0);
  CHECK(parallel_of(choice, 1) == 1);
  choice.record(true, 1.0, false);
  // Of two times the faster counts: 1 s against 2 s, all threads from the next call on.
  CHECK(parallel_of(choice, 50) == 50);
  // Three times 1, 8, 1.5 (the ring now holds 8, 1, 1.5): the median 1.5 still beats 2.
  choice.record(true, 1.5, false);
  CHECK(parallel_of(choice, 20) == 20);
  // Two slow calls in the last three (1.5, 6, 7): the median 6 loses to 2.
  choice.record(true, 6.0, false);
  choice.record(true, 7.0, false);
  CHECK(parallel_of(choice, 20) <= 1);
}
