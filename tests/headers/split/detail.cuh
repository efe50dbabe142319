// Included by lib.cuh through a quoted relative path.
#pragma once

namespace lib {
__device__ int scale(int x) { return 3 * x; }  // external: cut
}
