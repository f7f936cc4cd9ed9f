package graph

import "github.com/outbox/outbox/internal/outbox"

// errUnbuilt marks a resolver whose domain is still being built. It must
// not survive into a release: `grep -rn errUnbuilt graph/` lists them.
var errUnbuilt = outbox.Errorf(outbox.EINTERNAL, "not built yet")
