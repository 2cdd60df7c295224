// Resume is exact: a run interrupted at any point and resumed from its last checkpoint ends
// with weights bitwise identical to the uninterrupted run.
//
// In process: fit stops (stop_when) mid-epoch, at an epoch boundary, at the end, and twice in
// a row; the resumed fit continues to the same end. The lr follows a schedule that reads
// the global step and the current lr, plus a halving at every epoch end, so a resume that
// lost the lr, the step count or the epoch-end order would give other bits.
//
// Killed: the test starts itself again (fork + exec of /proc/self/exe, running only the
// test case "checkpoint_kill_child", which is skipped in normal runs), lets the child train
// with checkpoints and report each step through a pipe, SIGKILLs it mid-epoch, and resumes
// in the parent. Once with the child stopped at a known step (the resume point is then
// known exactly), and three times with the child killed at an arbitrary moment while it
// writes a checkpoint after every step: the file on disk must always be a complete
// checkpoint (old or new), and resuming from it must still be exact.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "minibatch/adam.hpp"
#include "minibatch/checkpoint.hpp"
#include "minibatch/data/synthetic.hpp"
#include "test_checkpoint_util.hpp"

namespace mb = minibatch;
using checkpoint_test::bitwise_equal;
using checkpoint_test::ScratchDir;

namespace {

constexpr mb::index_t batches_per_epoch = 19;  // ⌈300 / 16⌉; the last batch has 12 rows

mb::Momentum<float> momentum() { return mb::Momentum<float>({.lr = 0.05f, .momentum = 0.9f}); }
mb::Adam<float> adam() { return mb::Adam<float>({.lr = 0.01f}); }

// Ends a run after `updates` updates, as a crash would (the run's checkpoints stay).
struct StopAfter {
  mb::index_t updates;
  mb::index_t seen = 0;
  void on_step(const mb::StepInfo&) { ++seen; }
  bool stop_requested() const { return seen >= updates; }
};

// The run every test interrupts: an MLP on blobs, shuffled minibatches, everything seeded,
// the lr decaying with the global step and halved after every epoch. A resumed run starts
// from other initial weights, so only the checkpoint can make it right. Returns the weights.
template <class Opt, class... Extra>
std::vector<float> train(Opt opt, const mb::FitOptions& options, mb::FitResult* result = nullptr, Extra&&... extra) {
  const auto data = mb::data::make_blobs(300, 8, 3, 0.5, 11);
  mb::Mlp<float> model({8, 16, 3}, mb::Activation::relu, options.resume_from.empty() ? 12 : 99);
  mb::ShuffledSampler sampler({.batch_size = 16, .seed = 13});
  auto schedule = mb::on_step([&opt](const mb::StepInfo& s) {
    opt.set_lr(opt.lr() * (1.0f + 0.02f * static_cast<float>(s.step)) / (1.0f + 0.02f * static_cast<float>(s.step + 1)));
  });
  auto halve = mb::on_epoch([&opt](const mb::EpochInfo&) { opt.set_lr(opt.lr() * 0.5f); });
  mb::FitResult r = mb::fit(model, data, opt, sampler, options, schedule, halve, extra...);
  if (result) *result = std::move(r);
  return model.params().flat().to_vector();
}

mb::FitOptions plan(mb::index_t epochs) { return {.epochs = epochs, .evaluate_train = false}; }
mb::FitOptions with_checkpoints(mb::index_t epochs, const std::filesystem::path& path, mb::index_t every) {
  mb::FitOptions o = plan(epochs);
  o.checkpoint = {.path = path, .every_steps = every};
  return o;
}
mb::FitOptions resuming(mb::index_t epochs, const std::filesystem::path& path) {
  mb::FitOptions o = plan(epochs);
  o.resume_from = path;
  return o;
}

// A child process running the test case "checkpoint_kill_child" in `mode`; it writes the
// step number of every update, one per line, to the pipe read through `fd`.
struct Child {
  pid_t pid = -1;
  int fd = -1;
  std::string pending;

  Child(const std::string& mode, const std::filesystem::path& dir) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    env.push_back("MB_KILL_CHILD_MODE=" + mode);
    env.push_back("MB_KILL_CHILD_DIR=" + dir.string());
    env.push_back("MB_KILL_CHILD_FD=" + std::to_string(fds[1]));
    std::vector<char*> envp;
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string args[] = {"test_reliability", "--test-case=checkpoint_kill_child", "--no-skip=true", "--minimal=true"};
    char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(), nullptr};
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      ::execve("/proc/self/exe", argv, envp.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd = fds[0];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (fd >= 0) ::close(fd);
  }

  // Reads the child's reports until it reports step `step`; false if it exits or stalls first.
  bool wait_for_step(mb::index_t step) {
    for (;;) {
      for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
        const mb::index_t reported = std::stoull(pending.substr(0, eol));
        pending.erase(0, eol + 1);
        if (reported >= step) return true;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 60'000) <= 0) return false;
      char buffer[256];
      const ::ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return false;
      pending.append(buffer, static_cast<std::size_t>(n));
    }
  }

  // SIGKILLs the child and reaps it; true if the kill is what ended it.
  bool kill() {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
};

// The child side: reports every update on the pipe; "pause" (Momentum, a checkpoint every 5
// updates) stops for good after reporting step 12; "slow" (Adam, a checkpoint after every
// update) sleeps 200 µs per update from step 5 on, so that the parent's kill lands mid-run.
template <class Opt>
void run_child(Opt opt, const mb::FitOptions& options, int fd, bool pause_at_12) {
  auto report = mb::on_step([&](const mb::StepInfo& s) {
    char line[32];
    const int n = std::snprintf(line, sizeof line, "%zu\n", s.step);
    REQUIRE(::write(fd, line, static_cast<std::size_t>(n)) == n);
    if (pause_at_12 && s.step == 12)
      for (;;) ::pause();
    if (!pause_at_12 && s.step >= 5) std::this_thread::sleep_for(std::chrono::microseconds(200));
  });
  train(std::move(opt), options, nullptr, report);
}

}  // namespace

TEST_CASE("checkpoint_kill_child" * doctest::skip()) {
  const char* mode = std::getenv("MB_KILL_CHILD_MODE");
  const char* dir = std::getenv("MB_KILL_CHILD_DIR");
  const char* fd = std::getenv("MB_KILL_CHILD_FD");
  if (!mode || !dir || !fd) return;  // run by hand: nothing to do
  ::alarm(120);                      // never outlive a parent that forgot to kill us
  const std::filesystem::path path = std::filesystem::path(dir) / "run.ckpt";
  if (std::string(mode) == "pause")
    run_child(momentum(), with_checkpoints(3, path, 5), std::atoi(fd), true);
  else
    run_child(adam(), with_checkpoints(40, path, 1), std::atoi(fd), false);
}

TEST_CASE("resume: fit stopped mid-epoch continues at the next batch, bitwise") {
  ScratchDir dir("mid_epoch");
  const auto path = dir / "run.ckpt";
  const std::vector<float> reference = train(momentum(), plan(3));

  StopAfter crash{33};
  train(momentum(), with_checkpoints(3, path, 5), nullptr, crash);
  const mb::TrainPosition at = mb::read_checkpoint<float>(path).position;
  CHECK(at == mb::TrainPosition{.step = 30, .epoch = 1, .batch = 11, .sampler_seed = 13, .examples = 300,
                                .batches_per_epoch = batches_per_epoch});

  mb::FitResult resumed;
  CHECK(bitwise_equal(train(momentum(), resuming(3, path), &resumed), reference));
  CHECK(resumed.history.steps == 3 * batches_per_epoch - 30);  // the records start at the resume point
  REQUIRE(resumed.epochs.size() == 2);
  CHECK(resumed.epochs.front().epoch == 1);
  CHECK(resumed.epochs.front().steps == batches_per_epoch - 11);

  // Resume, crash again, resume again: the checkpoint period counts the steps of the whole run.
  StopAfter second_crash{12};
  mb::FitOptions again = with_checkpoints(3, path, 5);
  again.resume_from = path;
  train(momentum(), again, nullptr, second_crash);
  CHECK(mb::read_checkpoint<float>(path).position.step == 40);
  CHECK(bitwise_equal(train(momentum(), resuming(3, path)), reference));
}

TEST_CASE("resume: a checkpoint due at an epoch's last batch holds the next epoch's start and lr") {
  ScratchDir dir("epoch_end");
  const auto path = dir / "run.ckpt";
  const std::vector<float> reference = train(momentum(), plan(3));
  StopAfter crash{30};
  train(momentum(), with_checkpoints(3, path, batches_per_epoch), nullptr, crash);
  const mb::TrainPosition at = mb::read_checkpoint<float>(path).position;
  CHECK(at.step == batches_per_epoch);
  CHECK(at.epoch == 1);
  CHECK(at.batch == 0);
  mb::FitResult resumed;
  CHECK(bitwise_equal(train(momentum(), resuming(3, path), &resumed), reference));
  CHECK(resumed.epochs.size() == 2);

  // A checkpoint of the finished run resumes to nothing left to do.
  const std::vector<float> finished = train(momentum(), with_checkpoints(3, path, 3 * batches_per_epoch));
  CHECK(bitwise_equal(finished, reference));
  CHECK(mb::read_checkpoint<float>(path).position.epoch == 3);
  CHECK(bitwise_equal(train(momentum(), resuming(3, path), &resumed), reference));
  CHECK(resumed.history.steps == 0);
  CHECK(resumed.epochs.empty());
}

TEST_CASE("resume: a child SIGKILLed mid-epoch resumes from its last checkpoint, bitwise") {
  ScratchDir dir("kill_paused");
  const std::vector<float> reference = train(momentum(), plan(3));
  {
    Child child("pause", dir.path());
    REQUIRE(child.wait_for_step(12));
    REQUIRE(child.kill());
  }
  const auto path = dir / "run.ckpt";
  const mb::TrainPosition at = mb::read_checkpoint<float>(path).position;
  CHECK(at.step == 10);  // checkpoints after updates 5 and 10; killed after update 13
  CHECK(at.epoch == 0);
  CHECK(at.batch == 10);
  CHECK(bitwise_equal(train(momentum(), resuming(3, path)), reference));
}

TEST_CASE("resume: a child SIGKILLed at any moment of a checkpoint write leaves a loadable checkpoint") {
  const std::vector<float> reference = train(adam(), plan(40));
  for (const int delay_ms : {0, 3, 11}) {
    ScratchDir dir("kill_running_" + std::to_string(delay_ms));
    const auto path = dir / "run.ckpt";
    {
      Child child("slow", dir.path());
      REQUIRE(child.wait_for_step(5));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      REQUIRE(child.kill());
    }
    const mb::TrainPosition at = mb::read_checkpoint<float>(path).position;  // complete and uncorrupted
    MESSAGE("killed ", delay_ms, " ms after step 5: resuming at step ", at.step, " (epoch ", at.epoch, ", batch ",
            at.batch, "), a temporary file ",
            std::string(std::filesystem::exists(mb::io::temporary_path_for(path)) ? "was" : "was not"), " left behind");
    CHECK(at.step >= 5);
    CHECK(at.step < 40 * batches_per_epoch);
    CHECK(bitwise_equal(train(adam(), resuming(40, path)), reference));
  }
}
