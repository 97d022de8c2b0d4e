// Reports a flattened C++ exception through PostgreSQL's error machinery.
#include "pg/guard.hpp"

#include "pg/errors.hpp"
#include "pg/postgres.hpp"

namespace jk::pg {

void ReportCaught(const jk::core::CaughtError& caught) {
  ereport(ERROR, (errcode(ErrCode(caught.state)), errmsg_internal("%s", caught.message),
                  caught.detail[0] != '\0' ? errdetail_internal("%s", caught.detail) : 0,
                  caught.hint[0] != '\0' ? errhint("%s", caught.hint) : 0));
  pg_unreachable();
}

}  // namespace jk::pg
