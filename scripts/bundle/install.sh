#!/bin/bash
# Installs this guesttools-reconciler bundle on a management node. Root, no network; safe to run again.
#   sudo ./install.sh [--root DIR] [--no-systemctl]
# --root DIR       install under DIR instead of / (the gtr user goes into DIR/etc/passwd); for tests and images
# --no-systemctl   do not call systemctl (no daemon-reload, enable or restart)
set -euo pipefail

NAME=guesttools-reconciler
MIN_KERNEL_MAJOR=3
MIN_KERNEL_MINOR=10
root=""
use_systemctl=1
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:?--root needs a folder}"; shift 2 ;;
    --no-systemctl) use_systemctl=0; shift ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
say() { echo "install: $*"; }
die() { echo "install: $*" >&2; exit 1; }

bundle=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
version=$(cat "$bundle/VERSION")
arch=$(cat "$bundle/ARCH")

[ "$(id -u)" = 0 ] || die "run as root (sudo ./install.sh): it creates the gtr user and writes to /opt, /etc and /var/lib"

machine=$(uname -m)
[ "$machine" = "$arch" ] || die "this bundle is for $arch, this machine is $machine: use guesttools-reconciler-$version-linux-$([ "$machine" = aarch64 ] && echo arm64 || echo x64).tar.gz"

# The bundle carries its own C runtime (runtime/lib: loader, glibc 2.36, libstdc++): the host's glibc does
# not matter (CentOS 7's 2.17 is fine). The floor is the kernel: Linux 3.10 (libuv's; CentOS 7 has it).
kernel=$(uname -r)
kmajor=${kernel%%.*}; krest=${kernel#*.}; kminor=${krest%%[!0-9]*}
if [ "$kmajor" -lt "$MIN_KERNEL_MAJOR" ] || { [ "$kmajor" -eq "$MIN_KERNEL_MAJOR" ] && [ "$kminor" -lt "$MIN_KERNEL_MINOR" ]; }; then
  die "this system runs Linux $kernel; guesttools-reconciler needs Linux $MIN_KERNEL_MAJOR.$MIN_KERNEL_MINOR or newer"
fi

say "checking the bundle's files (SHA256SUMS)"
(cd "$bundle" && sha256sum --quiet -c SHA256SUMS) || die "the bundle is damaged or was changed: unpack it again from the original tarball"

if [ -n "$root" ]; then
  mkdir -p "$root/etc" "$root/usr/bin" "$root/opt" "$root/var/lib"
  for f in passwd group shadow gshadow; do [ -e "$root/etc/$f" ] || : > "$root/etc/$f"; done
fi
passwd_file="$root/etc/passwd"
nologin=/sbin/nologin
[ -x /usr/sbin/nologin ] && nologin=/usr/sbin/nologin
if ! grep -q '^gtr:' "$passwd_file"; then
  say "creating the system user gtr"
  useradd ${root:+--root "$root"} --system --user-group --home-dir /var/lib/$NAME --no-create-home --shell "$nologin" \
    --comment "guesttools-reconciler" gtr
fi
uid=$(awk -F: '$1=="gtr"{print $3}' "$passwd_file")
gid=$(awk -F: '$1=="gtr"{print $4}' "$passwd_file")

opt="$root/opt/$NAME"
dest="$opt/$version"
if [ -f "$dest/SHA256SUMS" ] && cmp -s "$dest/SHA256SUMS" "$bundle/SHA256SUMS"; then
  say "$dest is already installed"
else
  say "installing to $dest"
  mkdir -p "$opt"
  rm -rf "$dest.new"
  mkdir "$dest.new"
  cp -a "$bundle/." "$dest.new/"
  chown -R 0:0 "$dest.new"
  chmod -R go-w "$dest.new"
  rm -rf "$dest"
  mv "$dest.new" "$dest"
fi
# Atomic switch: an upgrade is one rename, a rollback one symlink (ln -sfn OLD-VERSION current).
ln -sfn "$version" "$opt/current.new" && mv -T "$opt/current.new" "$opt/current"
ln -sfn "../../opt/$NAME/current/bin/gtr" "$root/usr/bin/gtr"

etc="$root/etc/$NAME"
install -d -m 0750 -o 0 -g "$gid" "$etc"
if [ -e "$etc/config.json" ]; then
  say "keeping $etc/config.json"
else
  say "writing $etc/config.json (edit it: zstack.endpoint, and a password file or an AccessKey)"
  install -m 0640 -o 0 -g "$gid" "$dest/app/config/default.json" "$etc/config.json"
fi
install -m 0640 -o 0 -g "$gid" "$dest/app/config/example.jsonc" "$etc/example.jsonc"
# The JSON Schema the config files' "$schema": "./schema.json" points editors at.
install -m 0644 -o 0 -g "$gid" "$dest/app/config/schema.json" "$etc/schema.json"

state="$root/var/lib/$NAME"
install -d -m 0750 -o "$uid" -g "$gid" "$state"
chown "$uid:$gid" "$state" && chmod 0750 "$state"

unit_dir="$root/etc/systemd/system"
mkdir -p "$unit_dir"
install -m 0644 -o 0 -g 0 "$dest/app/deploy/$NAME.service" "$unit_dir/$NAME.service"
if [ "$use_systemctl" = 1 ]; then
  systemctl daemon-reload
  systemctl enable "$NAME.service"
  systemctl try-restart "$NAME.service"
fi

say "installed $NAME $version ($arch)"
cat <<NEXT
Next steps:
  1. Edit $etc/config.json: "zstack.endpoint", and either "zstack.passwordFile" or an AccessKey
     ("zstack.accessKeyId" + "zstack.accessKeySecretFile"); secret files: owner gtr, mode 0600.
  2. sudo gtr plan            (a dry run; as root, gtr acts as the gtr user)
  3. sudo systemctl start $NAME && journalctl -u $NAME -f
NEXT
