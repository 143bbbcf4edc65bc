#!/usr/bin/env bash
# @KIT@.run: the recovery kit @KIT@ as one self-extracting file, made by restorekit.
# It needs only bash 4.2+, coreutils, tar and gzip. The kit itself (a .tar.gz) follows
# the marker line at the end of this script; its sha256 is recorded below and checked
# before anything is unpacked, and every unpacked file is checked against the kit's
# SHA256SUMS before the kit directory appears.
#
# Usage: bash ./@KIT@.run --list | --verify [SIGNED] | --extract [DIR] [SIGNED] | --help
#   --list           check the payload, then list the files of the kit
#   --verify         check the payload, unpack it into a temporary directory under
#                    $TMPDIR (default /tmp; it needs room for the kit), check every
#                    file against SHA256SUMS, then remove the temporary directory
#   --extract [DIR]  check the payload and unpack the kit into DIR, a new directory
#                    (default: @KIT@ beside this file); an existing DIR is refused
#   --help           show this text
# SIGNED is --allowed-signers FILE [--signature SIG]: before any file is trusted, check
# with OpenSSH's ssh-keygen that SIG (default: @KIT@.SHA256SUMS.sig
# beside this file) is a "restorekit" signature of the kit's SHA256SUMS by a key that
# FILE (an allowed signers file, see ssh-keygen(1)) lists; --extract then puts SIG into
# the kit as SHA256SUMS.sig. This file checks itself: to check a kit without running
# anything from it, unpack the .tar.gz and run ssh-keygen -Y verify and sha256sum -c.
#
# Exit codes: 0 done; 1 verification failed (damaged file or bad signature: nothing is
# extracted); 2 usage error or refused (DIR exists); 3 a required tool is missing or
# unpacking failed.

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
ALLOWED=""   # --allowed-signers FILE
SIG=""       # --signature SIG
SIGNER=""    # who signed, once check_signature has checked

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
  if [[ -n $ALLOWED ]]; then
    command -v ssh-keygen >/dev/null 2>&1 || die 3 "ssh-keygen not found on PATH (--allowed-signers needs OpenSSH's ssh-keygen)"
    command -v cp >/dev/null 2>&1 || die 3 "cp not found on PATH (this file needs bash, coreutils, tar and gzip)"
    [[ -f $ALLOWED && -r $ALLOWED ]] || die 2 "--allowed-signers $ALLOWED: no such readable file"
    if [[ -z $SIG ]]; then
      SIG=$(dirname -- "$SELF")/$KIT_NAME.SHA256SUMS.sig
    fi
  fi
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

# check_signature DIR: DIR/SHA256SUMS is signed, for restorekit, by a key ALLOWED lists.
# ssh-keygen itself decides; its messages only pick which failure to name.
check_signature() {
  local sums=$1/SHA256SUMS out key principal principals
  if [[ ! -f $SIG ]]; then
    die 1 "not signed: $SIG does not exist: nothing shows who built this kit (give its signature with --signature SIG); nothing was extracted"
  fi
  if ! out=$(ssh-keygen -Y check-novalidate -n restorekit -s "$SIG" <"$sums" 2>&1); then
    case $out in
      *"usage: ssh-keygen"* | *"Usage: ssh-keygen"* | *"Unsupported operation"*)
        die 3 "this ssh-keygen cannot check signatures (-Y check-novalidate): it is too old; use a newer OpenSSH, or restorekit verify" ;;
      *"namespace does not match"*)
        die 1 "wrong namespace: $SIG is an SSH signature for another purpose, not a restorekit kit's (namespace restorekit); nothing was extracted" ;;
      *"incorrect signature"*)
        die 1 "bad signature: $SIG does not match the kit's SHA256SUMS: the kit or its signature was changed; nothing was extracted" ;;
      *)
        die 1 "unreadable signature: $SIG is not an SSH signature of this kit (ssh-keygen: ${out//$'\n'/; }); nothing was extracted" ;;
    esac
  fi
  key=${out##* with }
  if ! principals=$(ssh-keygen -Y find-principals -s "$SIG" -f "$ALLOWED" 2>/dev/null) || [[ -z $principals ]]; then
    die 1 "unknown signer: the kit was signed with $key, which $ALLOWED does not list; nothing was extracted"
  fi
  while IFS= read -r principal; do
    if out=$(ssh-keygen -Y verify -f "$ALLOWED" -I "$principal" -n restorekit -s "$SIG" <"$sums" 2>&1); then
      SIGNER="$principal with $key"
      printf 'signature ok: signed by %s\n' "$SIGNER"
      return 0
    fi
  done <<<"$principals"
  die 1 "signer not allowed: $ALLOWED lists $key but not for restorekit signatures now (ssh-keygen: ${out//$'\n'/; }); nothing was extracted"
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
      if [[ $f != SHA256SUMS && $f != SHA256SUMS.sig && -z ${listed[$f]:-} ]]; then
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

# check_kit DIR: the signature first when asked for, then every file.
check_kit() {
  if [[ -n $ALLOWED ]]; then
    check_signature "$1"
  fi
  check_files "$1"
}

# say_unsigned: without --allowed-signers, say plainly what is known about a signature.
say_unsigned() {
  if [[ -n $ALLOWED ]]; then
    return 0
  fi
  if [[ -f $(dirname -- "$SELF")/$KIT_NAME.SHA256SUMS.sig ]]; then
    printf 'signature: not checked: add --allowed-signers FILE to check who signed this kit\n'
  else
    printf 'signature: none: this kit is not signed (no %s.SHA256SUMS.sig beside this file)\n' "$KIT_NAME"
  fi
}

do_verify() {
  check_payload
  TMP=$(mktemp -d -- "${TMPDIR:-/tmp}/$KIT_NAME.verify.XXXXXX") || die 3 "cannot create a temporary directory"
  unpack "$TMP"
  check_kit "$TMP/$KIT_NAME"
  say_unsigned
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
  check_kit "$TMP/$KIT_NAME"
  if [[ -n $SIGNER ]]; then
    cp -- "$SIG" "$TMP/$KIT_NAME/SHA256SUMS.sig" || die 3 "copying $SIG into the kit failed"
  fi
  if [[ -e $target || -L $target ]]; then
    die 2 "$target appeared while extracting: nothing was extracted"
  fi
  mv -T -- "$TMP/$KIT_NAME" "$target" || die 3 "moving the kit to $target failed"
  say_unsigned
  printf 'extracted: %s\n' "$target"
}

# signed_options ARGS: --allowed-signers FILE and --signature SIG, nothing else.
signed_options() {
  while (($# > 0)); do
    case $1 in
      --allowed-signers | --signature)
        if (($# < 2)) || [[ -z $2 ]]; then
          die 2 "$1 needs a file (see --help)"
        fi
        if [[ $1 == --allowed-signers ]]; then ALLOWED=$2; else SIG=$2; fi
        shift 2
        ;;
      *) die 2 "unknown option $1 (see --help)" ;;
    esac
  done
  if [[ -n $SIG && -z $ALLOWED ]]; then
    die 2 "--signature needs --allowed-signers FILE: who may sign is what it is checked against"
  fi
}

main() {
  trap cleanup EXIT
  local target=""
  case ${1:-} in
    --help | -h)
      (($# == 1)) || die 2 "--help takes no argument"
      usage
      return 0
      ;;
    --list)
      (($# == 1)) || die 2 "$1 takes no argument (see --help)"
      need_tools
      do_list
      ;;
    --verify)
      shift
      signed_options "$@"
      need_tools
      do_verify
      ;;
    --extract)
      shift
      if (($# > 0)) && [[ $1 != -* ]]; then
        target=$1
        shift
      fi
      if (($# > 0)) && [[ $1 != -* ]]; then
        die 2 "--extract takes at most one directory (see --help)"
      fi
      signed_options "$@"
      need_tools
      do_extract "$target"
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
