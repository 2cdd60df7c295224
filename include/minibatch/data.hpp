// The data layer in one include: Dataset, the IDX reader/writer, the MNIST loader,
// the seeded train/validation split and synthetic Gaussian blobs (namespace
// minibatch::data). Needs zlib at link time (-lz) for gzip IDX files.
#pragma once

#include "minibatch/data/dataset.hpp"
#include "minibatch/data/idx.hpp"
#include "minibatch/data/mnist.hpp"
#include "minibatch/data/split.hpp"
#include "minibatch/data/synthetic.hpp"
