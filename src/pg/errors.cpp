// Packs core SQLSTATE codes the way errcode() expects them.
#include "pg/errors.hpp"

#include "pg/postgres.hpp"

namespace jk::pg {

int ErrCode(jk::core::SqlState state) {
  const char* code = jk::core::SqlStateCode(state);
  return MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
}

}  // namespace jk::pg
