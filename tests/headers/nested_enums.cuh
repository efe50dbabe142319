// Enums nested in a struct, reached as attributes of the outer type (`Dial.Mode.High`), used as
// kernel values and arguments; a nested enum as a template argument of a function and a class
// template (given and as a default).
#pragma once

namespace ne {

struct Dial {
  enum Mode { Low = 1, High = 10 };
  enum class Step : short { Fine = 2, Coarse = 50 };
  Mode mode;
  __device__ Dial() : mode(Low) {}
  __device__ explicit Dial(Mode m) : mode(m) {}
  __device__ int scale(int x) const { return x * static_cast<int>(mode); }
  __device__ int step(Step s, int x) const { return x + static_cast<int>(s); }
  __device__ Mode get() const { return mode; }
};

__device__ int mode_value(Dial::Mode m) { return static_cast<int>(m) + 100; }

template <Dial::Mode M>
__device__ int times_mode(int x) { return x * static_cast<int>(M); }

template <typename T, Dial::Mode M = Dial::High>
struct Scaled {
  T v;
  __device__ Scaled(T x) : v(x) {}
  __device__ T get() const { return v * static_cast<T>(M); }
};

// Enums of a class template: reached on an instance (`Table[np.int32, 4].Pick.Last`), and on the
// template where they do not depend on its arguments (`Table.Pick.Last`). Pick's and Scale's values
// are known without the arguments (Pick's underlying type is derived from them); Bits's need them.
template <typename T, int N>
struct Table {
  enum Pick { First = 1, Last };
  enum class Scale : short { One = 1, Ten = 10 };
  enum Bits { Width = sizeof(T) * 8, Wider, Half = Width / 2, Down = -static_cast<int>(sizeof(T)) };
  enum { Size = N * 2 };  // anonymous: not a type
  T v[N];
  __device__ Table(T x) { for (int i = 0; i < N; ++i) v[i] = x + i; }
  __device__ T pick(Pick p) const { return p == First ? v[0] : v[N - 1]; }
  __device__ T scaled(Scale s) const { return v[0] * static_cast<T>(s); }
  __device__ int bits(Bits b) const { return static_cast<int>(b) + 1000; }
  __device__ Pick last() const { return Last; }
};

}  // namespace ne
