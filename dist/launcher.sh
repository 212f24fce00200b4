#!/bin/sh
# @TOOL@: piwheels for Deno @VERSION@ (@TARGET@), a self-contained executable.
#
# This file is a small POSIX shell script followed by a compressed payload: the Deno runtime
# for @TARGET@ and the bundled tools. On first run the payload is unpacked into a per-user cache
# directory named by its SHA-256 (verified, then renamed into place, so that two copies starting
# at once are safe); after that it is re-used, and copies of other versions no run uses are
# removed. Then the runtime runs the tool with the Deno permission flags it ships with, and this
# process becomes it: signals and the exit code pass straight through. No Deno, npm or network
# is needed.
#
# The cache: $PIWHEELS_CACHE_DIR, else $CACHE_DIRECTORY (systemd's CacheDirectory=), else
# $XDG_CACHE_HOME, else ~/.cache; under piwheels-deno/<sha256>. It must belong to the user
# running this (what is in it is run), and is made private to them; it is resolved once, and
# only that physical path is checked and run.
set -eu
payload_sha256=@SHA256@
manifests_sha256=@MANIFESTS@
payload_offset=@OFFSET@
entry=@ENTRY@

say() { printf '%s: %s\n' "@TOOL@" "$*" >&2; }

root=${PIWHEELS_CACHE_DIR:-${CACHE_DIRECTORY:-${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}}}
if [ -z "$root" ]; then
    say "no cache directory: set HOME, XDG_CACHE_HOME or PIWHEELS_CACHE_DIR"
    exit 70
fi
base=$root/piwheels-deno
(umask 077 && mkdir -p "$base") 2>/dev/null || true
# Resolved once: from here on only this physical path is used (for the checks and the run), so
# a symbolic link on the way cannot be pointed elsewhere between them
physical=$(unset CDPATH && cd -P -- "$base" 2>/dev/null && pwd -P) || {
    say "$base must be a directory of this user's that no one else can write to"
    exit 70
}
case $base in /*) given=$base ;; *) given=$(pwd -P)/$base ;; esac
# Every directory on the way to it, as resolved and as given, must be the user's or root's, and
# no one else may write to it unless it is sticky: under another user's (a HOME sudo -E kept)
# they could swap the checked copy for theirs before it runs. So must every symbolic link on the
# way as given: another user's, in a shared place, chooses where the cache is.
# (one stat for them all, links not followed: a process each made the start 10 ms slower)
walk() {
    for path do
        while [ -n "$path" ]; do
            set -- "$@" "$path"
            path=${path%/*}
        done
    done
    stat -c '%u %f %n' "$@" /
}
if [ "$given" = "$physical" ]; then found=$(walk "$physical"); else
    found=$(walk "$physical" "$given")
fi || exit 70
me=$(id -u)
printf '%s\n' "$found" | {
    # the cache itself: another user's (one made first in a shared place) could hold their runtime
    read -r owner mode dir
    if [ "$owner" != "$me" ] || [ $((0x$mode & 0170022)) != $((0040000)) ]; then
        say "$physical must be a directory of this user's that no one else can write to"
        exit 70
    fi
    while read -r owner mode dir; do
        type=$((0x$mode & 0170000))
        if [ "$owner" != 0 ] && [ "$owner" != "$me" ] && [ "$type" = $((0120000)) ]; then
            say "$dir is another user's symbolic link: they could point it anywhere"
            exit 70
        elif { [ "$owner" != 0 ] && [ "$owner" != "$me" ]; } || { [ "$type" = $((0040000)) ] &&
            [ $((0x$mode & 022)) != 0 ] && [ $((0x$mode & 01000)) = 0 ]; }; then
            say "$dir must belong to this user or root, and no one else may write to it" \
                "(unless sticky)"
            exit 70
        fi
    done
} || exit 70
base=$physical
cache=$base/$payload_sha256

# Whether the unpacked copy at $1 is whole: each small file's SHA-256 as recorded (MANIFEST: the
# code), and each large file's size and the SHA-256 of its first MiB (MANIFEST.large: the runtime
# and PGlite's assets, 60 MB that would take longer to hash than the tool takes to start); the
# two manifests as this file has them, so that a copy changed with its manifest is noticed too.
# This finds damage; others cannot change it at all (only this user and root: the checks above).
intact() {
    [ -f "$1/.complete" ] && [ -f "$1/MANIFEST.large" ] || return 1
    sums=$(cat "$1/MANIFEST" "$1/MANIFEST.large" | sha256sum)
    [ "${sums%% *}" = "$manifests_sha256" ] || return 1
    (cd "$1" && sha256sum -c --quiet --status MANIFEST) || return 1
    while read -r size head file; do
        [ "$(wc -c < "$1/$file" 2>/dev/null | tr -d ' ')" = "$size" ] || return 1
        [ "$(head -c 1048576 "$1/$file" | sha256sum | cut -d' ' -f1)" = "$head" ] || return 1
    done < "$1/MANIFEST.large"
}

# What runs leave, and who removes it. A live run is told from a dead one by a lock (flock) it
# holds: the kernel drops it once every process holding it is gone, whatever their PID namespace
# (a PID may be another's by then). Only these exact names are removed, never through a link.
# - A run unpacks into a directory of its own, .unpack.XXXXXX, held exclusively (fd 9) while it
#   or a child of it lives, and removes it when done or stopped by a signal; it carries the
#   payload, and a damaged copy being replaced. What a killed one left (150 MB) a later run
#   removes. A run makes its directory holding the cache directory shared (fd 7), one removing
#   others' holds it exclusively: none is removed before its run has locked it, and none whose
#   run was killed before that is left.
# - A run holds its copy shared (fd 8, kept across exec) while the runtime it becomes, or a
#   child of it, lives; one that unpacks from before the copy is in place. A copy of another
#   version no run holds is removed: one marked .flocked (a launcher before these held no lock
#   on the copy it ran), or partly removed (with no .complete).

# a copy's name (a pattern): 64 hex digits
h=[0-9a-f]
h=$h$h$h$h$h$h$h$h$h$h$h$h$h$h$h$h
sha=$h$h$h$h

# Removes the directory $1 if no one holds it, holding it exclusively while it does
remove() {
    if [ -d "$1" ] && [ ! -L "$1" ]; then flock -x -n "$1" rm -rf "$1" 2>/dev/null || true; fi
}

unpack() {
    exec 7<"$base"
    flock -s 7
    tmp=$(mktemp -d "$base/.unpack.XXXXXX")
    exec 9<"$tmp"
    flock -n 9
    exec 7<&-
    # stopped by a signal, it removes it and exits as a shell would: 128 and the signal's number
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    tail -c +"$payload_offset" "$0" > "$tmp/payload.tar.gz"
    if [ "$(sha256sum "$tmp/payload.tar.gz" | cut -d' ' -f1)" != "$payload_sha256" ]; then
        say "this file is damaged (its payload does not match its SHA-256): download it again"
        exit 70
    fi
    mkdir "$tmp/root"
    tar -xzf "$tmp/payload.tar.gz" -C "$tmp/root"
    (cd "$tmp/root" && sha256sum -c --quiet --status MANIFEST.full) || {
        say "the unpacked payload does not match its manifest"
        exit 70
    }
    touch "$tmp/root/.complete" "$tmp/root/.flocked"
    if [ -e "$cache" ] && ! intact "$cache"; then
        say "replacing a damaged copy in $cache"
        # into this run's directory, removed with it
        mv -T "$cache" "$tmp/damaged" 2>/dev/null || true
    fi
    exec 8<"$tmp/root"
    flock -s 8
    # another copy may have won the race: then use its
    mv -T "$tmp/root" "$cache" 2>/dev/null || true
    rm -rf "$tmp"
    trap - EXIT HUP INT TERM
    exec 9<&-
}

# Holds the copy in $cache shared (fd 8); then whether it is whole is checked
hold() {
    { command exec 7<"$cache"; } 2>/dev/null || return 1
    flock -s 7 && exec 8<&7 7<&-
}

# what dead runs left, and other versions' copies
dead=
for old in "$base"/.unpack.?????? "$base"/*; do
    case ${old##*/} in
        "$payload_sha256") ;;
        # another version's: made by a launcher that holds it (.flocked), or partly removed
        $sha) if [ -e "$old/.flocked" ] || [ ! -e "$old/.complete" ]; then remove "$old"; fi ;;
        # a damaged copy a launcher before these was removing: these put it in .unpack.XXXXXX
        .unpack.??????|$sha.damaged.[0-9]*) [ ! -e "$old" ] || dead=1 ;;
    esac
done
# (a run between making its directory and locking it holds $base: then they wait for the next)
if [ -n "$dead" ]; then
    exec 7<"$base"
    if flock -x -n 7; then
        for old in "$base"/.unpack.?????? "$base"/$sha.damaged.[0-9]*; do remove "$old"; done
    fi
    exec 7<&-
fi
until hold && intact "$cache"; do
    [ -z "${unpacked:-}" ] || { say "cannot unpack into $cache"; exit 70; }
    unpacked=1
    unpack "$0"
done

export DENO_NO_UPDATE_CHECK=1
# Deno's own cache (the compiled code it runs) is in the checked one too: not $DENO_DIR or
# ~/.cache/deno, which may be another user's (a HOME sudo -E kept) or, with no HOME, nowhere
export DENO_DIR="$base/.deno"
exec "$cache/deno" run --no-config --no-lock @FLAGS@ "$cache/bundle/$entry" "$@"
exit 70
# ---- payload follows ----
