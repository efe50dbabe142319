// A half-precision wrapper type, an operator and a function: the example the README runs.
#pragma once
#include <cuda_fp16.h>

struct __attribute__((aligned(2))) __myfloat16
{
private:
    half data;

public:
    __host__ __device__ __myfloat16();
    __host__ __device__ __myfloat16(double val);
    __host__ __device__ operator double() const;
};

__host__ __device__ __myfloat16 operator+(const __myfloat16 &lh, const __myfloat16 &rh);

__device__ __myfloat16 hsqrt(const __myfloat16 a);

__host__ __device__ __myfloat16::__myfloat16() { data = __float2half(0.0f); }

__host__ __device__ __myfloat16::__myfloat16(double val) { data = __double2half(val); }

__host__ __device__ __myfloat16::operator double() const { return __half2float(data); }

__host__ __device__ __myfloat16 operator+(const __myfloat16 &lh, const __myfloat16 &rh)
{
    return __myfloat16(double(lh) + double(rh));
}

__device__ __myfloat16 hsqrt(const __myfloat16 a) { return __myfloat16(double(hsqrt(__double2half(double(a))))); }
