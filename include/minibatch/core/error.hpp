// Exceptions of the library. Every error is a `minibatch::error` (a std::runtime_error)
// whose message names what was wrong and where: the file, the shape, the index or the
// value. Library code throws these instead of calling exit/abort and never prints.
//
//   error          base class, catch this to catch everything minibatch throws
//   value_error    a hyper-parameter or argument outside its domain (lr < 0, batch_size 0)
//   shape_error    tensors whose shapes do not fit together, or an empty tensor
//   index_error    an index past the end of what it indexes
//   io_error       a file that is missing, truncated or malformed (message names the file)
//   divergence_error  training produced a non-finite loss or gradient (names the step)
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace minibatch {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class value_error : public error {
 public:
  using error::error;
};

class shape_error : public error {
 public:
  using error::error;
};

class index_error : public error {
 public:
  using error::error;
};

class io_error : public error {
 public:
  using error::error;
};

class divergence_error : public error {
 public:
  using error::error;
};

namespace detail {

// Joins the arguments with operator<< into one message string.
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

}  // namespace detail

// Throws `Error` with a message built from the arguments when `condition` is false.
template <class Error = error, class... Args>
void require(bool condition, Args&&... message) {
  if (!condition) throw Error(detail::concat(std::forward<Args>(message)...));
}

}  // namespace minibatch
