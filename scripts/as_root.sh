# Sourced by the set-up scripts, which install packages and mount loop devices:
# as root they go on; otherwise they run again through sudo where there is one,
# and stop with what to do where there is none (a fresh Debian logged in as a
# user without sudo). Usage: source scripts/as_root.sh "$@"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo --preserve-env=PGD_POOL_FILE,DEMO_SCALE bash "$0" "$@"
  fi
  echo "$(basename "$0") needs root (it installs packages with apt and mounts a loop device)," \
       "and there is no sudo here: run it as root, e.g. su -c 'bash $0'" >&2
  exit 1
fi
