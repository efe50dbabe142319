// Enumerations: unscoped, scoped, fixed underlying types, explicit and negative values,
// an anonymous enum named by a typedef, and an enum nested in a struct.
#include <cstdint>

enum Color { Red, Green = 5, Blue };

enum class Mode : unsigned char { Off, On = 200 };

enum class Signed : int64_t { Low = -3, High = 9000000000 };

enum Flags : uint32_t { FlagA = 1u << 0, FlagB = 1u << 31 };

typedef enum { North, South } Direction;

enum { AnonymousConstant = 7 };

struct Holder {
  enum Kind { First, Second };
  Kind kind;
};
