#!/bin/bash
# The wrapper shortened CNI_CONTAINERID for DEL, so host-local never found the reservation to release.
set -euo pipefail
sed -i 's/^\(\s*\)CNI_CONTAINERID=\$short exec "\$HOST_LOCAL"/\1exec "$HOST_LOCAL"/' "$WORK/bin/ex-ipam"
grep -q 'CNI_CONTAINERID=$short' "$WORK/bin/ex-ipam" && { echo "fix not applied" >&2; exit 1; }
# no pod uses ex-leak now: every reservation is a leak
rm -f "$WORK"/ipam/ex-leak/10.231.9.*
