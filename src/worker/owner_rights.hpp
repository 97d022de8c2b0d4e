// Running a TTL rule's statements with its owner's rights (SPEC section 11).
#pragma once

namespace jk::worker {

// Runs body(arg) with the rights of role (a TTL rule's owner, refused if it is a superuser):
// its privileges and row-level security apply, inside a restricted operation (no SET ROLE, no
// temporary objects) as autovacuum runs a table owner's code, and every setting it changes is
// undone at the end. An error leaves the role switched: aborting the (sub)transaction restores
// the one it began with.
void RunAsOwner(unsigned int role, void (*body)(void*), void* arg);

}  // namespace jk::worker
