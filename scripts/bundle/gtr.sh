#!/bin/sh
# gtr from the offline bundle: the bundled Node runs the bundled app, whatever node is (or is not) on PATH.
# /usr/bin/gtr -> /opt/guesttools-reconciler/current/bin/gtr -> <version>/bin/gtr: resolve to the version folder.
here=$(dirname "$(readlink -f "$0")")/..
exec "$here/node/bin/node" "$here/app/bin/gtr.js" "$@"
