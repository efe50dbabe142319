// Declarations guarded by __CUDA_ARCH__: what is reported depends on the compute capability.

__device__ int everywhere(int a);

#if __CUDA_ARCH__ >= 900
__device__ int hopper_only(int a);
struct ClusterInfo {
  unsigned rank;
  unsigned size;
};
#else
__device__ int before_hopper(int a);
#endif

#if __CUDA_ARCH__ >= 800
__device__ float ampere_and_newer(float a);
#endif

struct Versioned {
#if __CUDA_ARCH__ >= 900
  long long wide;
#else
  int narrow;
#endif
};
