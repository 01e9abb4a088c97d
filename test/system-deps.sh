#!/usr/bin/env bash
# What the tests need from the system besides Node: tmux (the TUI tests), redis-server (the cluster tests),
# OpenBSD nc and jq (the docs examples), openssl (TLS certificates, and s_client in the docs), espeak-ng, sox and
# opus-tools (speech, durations and Opus for the voice tests and the voice example), chromium with fonts-noto-cjk and
# fonts-noto-color-emoji (the browser gateway's tests drive Debian's chromium; the fonts draw Chinese and emoji in
# their screenshots). Installed with apt when we may
# (root, or sudo without a password);
# otherwise stop at once with the one line to run, rather than a wall of failing tests.
set -euo pipefail

missing=()
command -v tmux >/dev/null || missing+=(tmux)
command -v redis-server >/dev/null || missing+=(redis-server)
# The examples use `nc -N` (close the socket after stdin's end): OpenBSD's netcat has it, the traditional one not.
{ command -v nc >/dev/null && nc -h 2>&1 | grep -q -- '-N'; } || missing+=(netcat-openbsd)
command -v jq >/dev/null || missing+=(jq)
# python3 reads a server socket's options back (Node cannot); node-gyp needs it too.
command -v python3 >/dev/null || missing+=(python3)
command -v openssl >/dev/null || missing+=(openssl)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
{ command -v sox >/dev/null && command -v soxi >/dev/null; } || missing+=(sox)
{ command -v opusenc >/dev/null && command -v opusdec >/dev/null; } || missing+=(opus-tools)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Fonts are no commands: ask dpkg (fc-list may be missing too), on Debian and its kin.
if command -v dpkg >/dev/null; then
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
  dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
can_install=no
if command -v apt-get >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    can_install=yes
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    can_install=yes
    as_root=(sudo -n)
  fi
fi
if [ "$can_install" = yes ]; then
  echo "npm test: installing what the tests need: ${missing[*]}" >&2
  if "${as_root[@]}" apt-get update -qq >/dev/null 2>&1 &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    exit 0
  fi
  echo "npm test: apt-get could not install ${missing[*]}" >&2
fi
echo "npm test: the tests need ${missing[*]}. Install them first, e.g.:" >&2
echo "  sudo apt-get install -y ${missing[*]}" >&2
exit 1
