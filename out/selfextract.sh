#!/usr/bin/env bash
# @KIT@.run: the recovery kit @KIT@ as one self-extracting file, made by restorekit.
# It needs only bash 4.2+, coreutils, tar and gzip. The kit itself (a .tar.gz) follows
# the marker line at the end of this script; its sha256 is recorded below and checked
# before anything is unpacked, and every unpacked file is checked against the kit's
# SHA256SUMS before the kit directory appears.
#
# Usage: bash ./@KIT@.run --list | --verify | --extract [DIR] | --help
#   --list           check the payload, then list the files of the kit
#   --verify         check the payload, unpack it into a temporary directory under
#                    $TMPDIR (default /tmp; it needs room for the kit), check every
#                    file against SHA256SUMS, then remove the temporary directory
#   --extract [DIR]  check the payload and unpack the kit into DIR, a new directory
#                    (default: @KIT@ beside this file); an existing DIR is refused
#   --help           show this text
#
# Exit codes: 0 done; 1 verification failed (damaged file: nothing is extracted);
# 2 usage error or refused (DIR exists); 3 a required tool is missing or unpacking failed.

# Started by sh (dash or another POSIX shell): stop before the first bash-only line.
if [ -z "${BASH_VERSION-}" ]; then
  printf '%s: error: this file needs bash: run it with bash: bash %s' "${0##*/}" "$0" >&2
  for arg in "$@"; do printf ' %s' "$arg" >&2; done
  printf '\n' >&2
  exit 2
fi
set -euo pipefail

readonly KIT_NAME=@KIT_QUOTED@
readonly PAYLOAD_SHA256=@PAYLOAD_SHA256@
readonly PAYLOAD_SIZE=@PAYLOAD_SIZE@
readonly PAYLOAD_OFFSET=@PAYLOAD_OFFSET@

SELF=${BASH_SOURCE[0]:-}
TMP=""

usage() {
  local line
  while IFS= read -r line; do
    case $line in
      "#!"*) ;;
      "#"*)
        line=${line#"#"}
        printf "%s\n" "${line# }"
        ;;
      *) return 0 ;;
    esac
  done <"$SELF"
}

die() {
  local code=$1
  shift
  printf '%s: error: %s\n' "${SELF##*/}" "$*" >&2
  exit "$code"
}

# Runs from the EXIT trap set in main.
# shellcheck disable=SC2317
cleanup() {
  if [[ -n $TMP ]]; then
    rm -rf -- "$TMP"
  fi
}

need_tools() {
  local tool
  for tool in tail wc sha256sum mktemp mv rm dirname tar gzip; do
    command -v "$tool" >/dev/null 2>&1 || die 3 "$tool not found on PATH (this file needs bash, coreutils, tar and gzip)"
  done
}

payload() {
  tail -c "+$((PAYLOAD_OFFSET + 1))" -- "$SELF"
}

# check_payload: the bytes after the marker must be exactly the recorded archive.
check_payload() {
  local size sum
  [[ -f $SELF && -r $SELF ]] || die 2 "$SELF: run this file by its path (bash ./FILE.run), not from a pipe"
  size=$(wc -c <"$SELF")
  if ((size != PAYLOAD_OFFSET + PAYLOAD_SIZE)); then
    die 1 "$SELF is $((size)) bytes, expected $((PAYLOAD_OFFSET + PAYLOAD_SIZE)): it is truncated or was changed; copy it again"
  fi
  sum=$(payload | sha256sum)
  sum=${sum%% *}
  if [[ $sum != "$PAYLOAD_SHA256" ]]; then
    die 1 "payload sha256 is $sum, expected $PAYLOAD_SHA256: this file is damaged; copy it again (nothing was extracted)"
  fi
  printf 'payload ok: %s bytes, sha256 %s\n' "$PAYLOAD_SIZE" "$PAYLOAD_SHA256"
}

# unpack DIR: unpack the checked payload into DIR (the kit appears as DIR/KIT_NAME).
unpack() {
  payload | tar -xzf - -C "$1" --no-same-owner || die 3 "unpacking into $1 failed"
  [[ -d $1/$KIT_NAME ]] || die 1 "the payload holds no directory $KIT_NAME"
}

# check_files DIR: every file in DIR is listed in DIR/SHA256SUMS with its digest.
check_files() {
  local dir=$1 line n=0 f
  local -A listed=()
  [[ -f $dir/SHA256SUMS ]] || die 1 "$dir/SHA256SUMS is missing"
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    if [[ ! $line =~ ^[0-9a-f]{64}\ \ (.+)$ ]]; then
      die 1 "SHA256SUMS line $n is not \"<sha256>  <path>\""
    fi
    listed[${BASH_REMATCH[1]}]=1
  done <"$dir/SHA256SUMS"
  if ! (cd -- "$dir" && sha256sum -c --quiet SHA256SUMS); then
    die 1 "files do not match SHA256SUMS (listed above): the kit is damaged"
  fi
  shopt -s globstar dotglob nullglob
  for f in "$dir"/**; do
    if [[ -L $f || (! -d $f && ! -f $f) ]]; then
      die 1 "${f#"$dir"/} is not a regular file"
    fi
    if [[ -f $f ]]; then
      f=${f#"$dir"/}
      if [[ $f != SHA256SUMS && -z ${listed[$f]:-} ]]; then
        die 1 "$f is not listed in SHA256SUMS"
      fi
    fi
  done
  shopt -u globstar dotglob nullglob
  printf 'files ok: %d files match SHA256SUMS\n' "$n"
}

do_list() {
  local status=0
  check_payload
  payload | tar -tzf - || status=$?
  # 141 is 128+SIGPIPE: the reader (head, less) stopped reading; nothing failed.
  ((status != 141)) || exit 141
  ((status == 0)) || die 3 "listing the payload failed"
}

do_verify() {
  check_payload
  TMP=$(mktemp -d -- "${TMPDIR:-/tmp}/$KIT_NAME.verify.XXXXXX") || die 3 "cannot create a temporary directory"
  unpack "$TMP"
  check_files "$TMP/$KIT_NAME"
  printf 'verified: %s\n' "$KIT_NAME"
}

do_extract() {
  local target=$1 parent
  if [[ -z $target ]]; then
    target=$(dirname -- "$SELF")/$KIT_NAME
  fi
  if [[ -e $target || -L $target ]]; then
    die 2 "$target already exists: nothing was extracted; name a new directory with --extract DIR"
  fi
  parent=$(dirname -- "$target")
  [[ -d $parent ]] || die 2 "$parent: no such directory"
  check_payload
  TMP=$(mktemp -d -- "$parent/.$KIT_NAME.extract.XXXXXX") || die 3 "cannot create a directory in $parent"
  unpack "$TMP"
  check_files "$TMP/$KIT_NAME"
  if [[ -e $target || -L $target ]]; then
    die 2 "$target appeared while extracting: nothing was extracted"
  fi
  mv -T -- "$TMP/$KIT_NAME" "$target" || die 3 "moving the kit to $target failed"
  printf 'extracted: %s\n' "$target"
}

main() {
  trap cleanup EXIT
  case ${1:-} in
    --help | -h)
      (($# == 1)) || die 2 "--help takes no argument"
      usage
      return 0
      ;;
    --list | --verify)
      (($# == 1)) || die 2 "$1 takes no argument (see --help)"
      need_tools
      if [[ $1 == --list ]]; then do_list; else do_verify; fi
      ;;
    --extract)
      (($# <= 2)) || die 2 "--extract takes at most one directory (see --help)"
      [[ ${2:-} != -* ]] || die 2 "--extract $2: not a directory name (see --help)"
      need_tools
      do_extract "${2:-}"
      ;;
    "")
      usage >&2
      die 2 "say what to do: --list, --verify, --extract [DIR] or --help"
      ;;
    *)
      die 2 "unknown option $1 (see --help)"
      ;;
  esac
}

main "$@"
exit 0
__ARCHIVE_BELOW__
