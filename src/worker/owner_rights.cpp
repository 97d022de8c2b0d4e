// A TTL rule's statements with its owner's rights (see owner_rights.hpp).
#include "worker/owner_rights.hpp"

#include "pg/postgres.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
}

namespace jk::worker {

void RunAsOwner(unsigned int role, void (*body)(void*), void* arg) {
  // Checked for every batch: a role made superuser during a long run never deletes as one.
  if (superuser_arg(role)) {
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("role %s is a superuser: a TTL rule's deletes never run as one",
                           GetUserNameFromId(role, true))));
  }
  Oid user;
  int context;
  GetUserIdAndSecContext(&user, &context);
  SetUserIdAndSecContext(role,
                         context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  // The owner's code (its triggers, its policies' functions) may change settings, even with
  // set_config(..., false): every change is undone at the end, as VACUUM does, so that nothing
  // it sets (a search_path, an isolation level) reaches the worker's own statements.
  const int nest = NewGUCNestLevel();
  body(arg);
  AtEOXact_GUC(false, nest);
  SetUserIdAndSecContext(user, context);
}

}  // namespace jk::worker
