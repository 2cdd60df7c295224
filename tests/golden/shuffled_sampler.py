#!/usr/bin/env python3
"""Independent re-implementation of minibatch's seeded shuffle, used to record the golden
orders in tests/samplers/test_samplers.cpp: splitmix64 seeding, xoshiro256**, the
rejection-sampled bounded draw and Fisher-Yates, written from their published definitions.

    python3 tests/golden/shuffled_sampler.py SEED EPOCH N
"""
import sys

M = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


class Rng:
    def __init__(self, seed, stream=0):
        _, key = splitmix64(seed)
        key ^= (stream * 0xD1B54A32D192ED03) & M
        state, self.s = key, []
        for _ in range(4):
            state, word = splitmix64(state)
            self.s.append(word)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        threshold = (1 << 64) % n
        while True:
            r = self.next()
            if r >= threshold:
                return r % n


def shuffled(seed, epoch, n):
    rng = Rng(seed, epoch)
    order = list(range(n))
    for i in range(n, 1, -1):
        j = rng.below(i)
        order[i - 1], order[j] = order[j], order[i - 1]
    return order


if __name__ == "__main__":
    seed, epoch, n = (int(a) for a in sys.argv[1:4])
    print(", ".join(str(i) for i in shuffled(seed, epoch, n)))
    print("first raw draws:", [hex(Rng(seed, epoch).next())])
