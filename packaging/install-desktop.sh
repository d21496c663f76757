#!/usr/bin/env bash
# Put labbench's desktop entry and icons in place: for this user (~/.local, the default) or,
# with --system, for everyone (/usr/local).  The entry runs the bundle if it was built
# (packaging/dist/labbench/labbench, copied to PREFIX/lib/labbench), else `labbench` on PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
prefix="${XDG_DATA_HOME:-$HOME/.local/share}"
bin_dir="$HOME/.local/bin"
lib_dir="$HOME/.local/lib"
if [[ "${1:-}" == "--system" ]]; then
    prefix=/usr/local/share
    bin_dir=/usr/local/bin
    lib_dir=/usr/local/lib
fi
app_id=org.labbench.Labbench
exec_cmd=labbench
if [[ -x "$here/dist/labbench/labbench" ]]; then
    mkdir -p "$lib_dir" "$bin_dir"
    rm -rf "$lib_dir/labbench"
    cp -a "$here/dist/labbench" "$lib_dir/labbench"
    ln -sf "$lib_dir/labbench/labbench" "$bin_dir/labbench"
    exec_cmd="$bin_dir/labbench"
fi
for dir in "$root"/resources/icons/hicolor/*/apps; do
    size="$(basename "$(dirname "$dir")")"
    mkdir -p "$prefix/icons/hicolor/$size/apps"
    cp "$dir"/$app_id.* "$prefix/icons/hicolor/$size/apps/"
done
mkdir -p "$prefix/applications"
sed "s|^Exec=.*|Exec=$exec_cmd|" "$root/resources/$app_id.desktop" > "$prefix/applications/$app_id.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/icons/hicolor" || true
echo "installed $prefix/applications/$app_id.desktop (Exec=$exec_cmd) and icons under $prefix/icons/hicolor"
