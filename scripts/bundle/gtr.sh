#!/bin/sh
# gtr from the offline bundle: the bundled Node, started through the bundle's own dynamic loader and C
# runtime (runtime/lib), runs the bundled app. Neither the host's node nor its glibc is used, and this
# script uses shell built-ins only (no readlink, dirname or anything else from PATH).
# It finds the bundle from where it was started: <bundle>/bin/gtr itself (also through the "current"
# folder symlink), or the /usr/bin/gtr symlink that install.sh and the RPM make, which points to
# ../../opt/guesttools-reconciler/current/bin/gtr (the same path, taken from the link's own folder).
loader=@LOADER@
case $0 in
  */*) dir=${0%/*} ;;
  *) dir=. ;;
esac
tried=
for candidate in "$dir/.." "$dir/../../opt/guesttools-reconciler/current" /opt/guesttools-reconciler/current; do
  if [ -f "$candidate/runtime/lib/$loader" ] && [ -f "$candidate/node/bin/node" ]; then
    here=$candidate
    break
  fi
  tried="$tried $candidate"
done
if [ -z "${here:-}" ]; then
  echo "gtr: cannot find the bundle's runtime/lib/$loader and node/bin/node from $0 (looked in:$tried)." >&2
  echo "  Run <bundle>/bin/gtr itself, or reinstall (install.sh or the RPM) so /usr/bin/gtr points into /opt/guesttools-reconciler." >&2
  exit 127
fi
# Node's own flags (scripts/bundle/node-flags.mjs); one that NODE_OPTIONS sets already is left to it.
case " ${NODE_OPTIONS:-} " in
  *--max-semi-space-size*) flags= ;;
  *) flags='@NODE_FLAGS@' ;;
esac
# --inhibit-cache: never the host's /etc/ld.so.cache, so no host library can be picked up either.
# $flags unquoted: none, or words without spaces.
exec "$here/runtime/lib/$loader" --inhibit-cache --library-path "$here/runtime/lib" "$here/node/bin/node" $flags "$here/app/bin/gtr.js" "$@"
