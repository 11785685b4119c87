// The one place <opendkim/dkim.h> is included, and the owners of its handles.
// It does not wrap the API itself: dkim_signer.cpp calls libopendkim directly.
//
// dkim.h does not compile as C++ as shipped: it uses C99 `_Bool` and only pulls in
// <stdbool.h> under a HAVE_STDBOOL_H guard that nothing defines for library users.
// Its own system includes come first so that the `_Bool` mapping below reaches
// dkim.h alone. Note that dkim.h includes <sys/param.h>, which defines MIN and MAX
// macros: one more reason to include this header only from .cpp files.
#pragma once

#include <inttypes.h>
#include <sys/param.h>
#include <sys/time.h>
#include <sys/types.h>

#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include "common/base/owned.h"

namespace mta {

// One per DkimSigner: holds the options (sign and oversign lists) every handle uses.
using OwnedDkimLib = common::Owned<DKIM_LIB, &dkim_close>;
// One per message being signed; must be freed before the DKIM_LIB it came from.
using OwnedDkim = common::Owned<DKIM, &dkim_free>;

}  // namespace mta
