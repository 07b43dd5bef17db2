#!/usr/bin/env bash
# Browser tests drive Debian's chromium; install it when missing and we are allowed to.
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null && exit 0
fi
echo "chromium is not installed: browser tests will be skipped (and fail under CI=true)." >&2
echo "install it with: sudo apt-get install chromium" >&2
exit 0
