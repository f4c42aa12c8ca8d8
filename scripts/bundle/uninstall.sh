#!/bin/bash
# Removes guesttools-reconciler: the unit, /usr/bin/gtr and /opt/guesttools-reconciler. Keeps the config
# (/etc/guesttools-reconciler), the database (/var/lib/guesttools-reconciler) and the gtr user unless --purge.
#   sudo ./uninstall.sh [--purge] [--root DIR] [--no-systemctl]
set -euo pipefail

NAME=guesttools-reconciler
root=""
use_systemctl=1
purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:?--root needs a folder}"; shift 2 ;;
    --no-systemctl) use_systemctl=0; shift ;;
    --purge) purge=1; shift ;;
    -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "uninstall: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
say() { echo "uninstall: $*"; }
[ "$(id -u)" = 0 ] || { echo "uninstall: run as root" >&2; exit 1; }

if [ "$use_systemctl" = 1 ]; then
  systemctl disable --now "$NAME.service" 2>/dev/null || true
fi
rm -f "$root/etc/systemd/system/$NAME.service"
if [ "$use_systemctl" = 1 ]; then systemctl daemon-reload; fi
if [ -L "$root/usr/bin/gtr" ] && [ "$(readlink "$root/usr/bin/gtr")" = "../../opt/$NAME/current/bin/gtr" ]; then
  rm -f "$root/usr/bin/gtr"
fi
rm -rf "$root/opt/$NAME"
say "removed the program"
if [ "$purge" = 1 ]; then
  rm -rf "$root/etc/$NAME" "$root/var/lib/$NAME"
  if grep -q '^gtr:' "$root/etc/passwd"; then userdel ${root:+--root "$root"} gtr; fi
  say "removed the configuration, the database and the gtr user"
else
  say "kept $root/etc/$NAME, $root/var/lib/$NAME and the gtr user (--purge removes them)"
fi
