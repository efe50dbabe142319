// A macro that pastes tokens: what the bodies call cannot be read from the text.
#pragma once

#define NUMBAST_TEST_STEP(n) step_##n(x)

namespace pasted {
__device__ int step_1(int x) { return x + 1; }
__device__ int step_2(int x) { return x + 2; }
__device__ int run(int x) { return NUMBAST_TEST_STEP(2); }
}  // namespace pasted
