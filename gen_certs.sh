#!/usr/bin/env bash
# Make the certificates for the mutual TLS tutorial, with the openssl command.
#
#   ./gen_certs.sh [--force] [DIR]
#       The tutorial's one self-signed certificate (cert.pem) and its key
#       (key.pem). The server and the client both use it as their identity
#       and both trust it as their CA.
#   ./gen_certs.sh --ca [--days N] [--force] [DIR]
#       A small CA (ca.pem, ca-key.pem), a server certificate it signs
#       (server.pem, server-key.pem) and a client certificate whose subject
#       Common Name is "client" (client.pem, client-key.pem, client.p12).
#   ./gen_certs.sh --client NAME [--days N] [--force] [DIR]
#       One more client, NAME.pem, NAME-key.pem and NAME.p12, signed by the
#       CA in DIR that --ca made. NAME is up to 64 letters, digits, '.', '_'
#       and '-', not first '-' or '.', and not ca, server, client, cert, key
#       or anything ending in -key, whose files are already others'.
#
# DIR defaults to the current folder. Files that already exist are kept
# unless --force is given. Certificates are valid for 3650 days, or N days
# with --days N (1 to 3650); the CA itself always for 3650. The PKCS#12
# bundles (.p12), for browsers and key stores, are protected by the password
# in $P12_PASSWORD, "mtls" if unset.
set -euo pipefail

# Nothing this script makes is readable by other users, not even for a moment:
# keys are mode 600 from the start, and a folder it creates is 700, so no one
# else can put a file or a link into it. Certificates are made 644 at the end.
umask 077
# Letter ranges such as A-Z mean ASCII letters only, in every shell and locale.
export LC_ALL=C

# --help: the comment above, up to its first line of code.
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
fail() { echo "gen_certs.sh: $*" >&2; exit 1; }
# A usage error: the usage line and what was wrong, status 2, as argparse does.
usage_error() {
  echo "usage: gen_certs.sh [--ca | --client NAME] [--days N] [--force] [DIR]" >&2
  echo "gen_certs.sh: $* (see --help)" >&2
  exit 2
}

mode=tutorial force=0 dir= name= days= days_given=0
while [ $# -gt 0 ]; do
  case $1 in
    --force) force=1 ;;
    --ca | --client)
      [ "$mode" = tutorial ] || usage_error "give only one of --ca and --client NAME"
      mode=${1#--}
      if [ "$mode" = client ]; then
        [ $# -ge 2 ] || usage_error "--client needs a NAME, for example: --client bob"
        name=$2
        shift
      fi ;;
    --days)
      [ "$days_given" = 0 ] || usage_error "give --days once"
      [ $# -ge 2 ] || usage_error "--days needs a number of days, for example: --days 30"
      days=$2 days_given=1
      shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option $1" ;;
    *)
      [ -z "$dir" ] || usage_error "one folder only, not both $dir and $1"
      dir=$1 ;;
  esac
  shift
done
dir=${dir:-.}

# --days sets the life of the certificates this run signs; the CA's own is ten years, and
# a certificate outliving its CA would be of no use.
if [ "$days_given" = 1 ]; then
  case $mode in
    ca | client) ;;
    *) usage_error "--days goes with --ca or --client, which sign certificates" ;;
  esac
  case $days in
    '' | 0* | *[!0-9]*) usage_error "--days takes a whole number of days from 1 to 3650, not '$days'" ;;
  esac
  [ ${#days} -le 4 ] && [ "$days" -le 3650 ] ||
    usage_error "--days takes a whole number of days from 1 to 3650, not '$days'"
fi

# A client's name becomes its file names and its certificate's Common Name: keep it to
# characters that are safe in both, and never one whose files are another's: those of
# --ca and the tutorial, or NAME-key.pem, the key of client NAME. In any case, since some
# file systems do not tell ca.pem from CA.pem.
if [ "$mode" = client ]; then
  case $name in
    '' | [-.]* | *[!A-Za-z0-9._-]*)
      usage_error "client name '$name' is not allowed: use letters, digits, '.', '_' and '-', not first '-' or '.'" ;;
  esac
  [ ${#name} -le 64 ] || usage_error "client name '$name' is longer than 64 characters, the most a Common Name holds"
  case $(printf '%s' "$name" | tr '[:upper:]' '[:lower:]') in
    ca | server | client | cert | key | *-key)
      usage_error "client name '$name' is taken: ca, server, client, cert, key" \
        "and names ending in -key name other files" ;;
  esac
fi

command -v openssl >/dev/null 2>&1 ||
  fail "the openssl command was not found; install OpenSSL (apt-get install openssl, brew install openssl) and run again"

# A new client needs the CA: check before anything is made, so that a mistyped
# folder is not created.
if [ "$mode" = client ] && ! { [ -f "$dir/ca.pem" ] && [ -f "$dir/ca-key.pem" ]; }; then
  fail "no CA in $dir (ca.pem and ca-key.pem); make one first with: ./gen_certs.sh --ca $dir"
fi

mkdir -p "$dir" 2>/dev/null && cd "$dir" 2>/dev/null && [ -w . ] ||
  fail "cannot use the folder $dir; pass a folder you can write to"

# Every file is made in a private scratch folder and moved into place at the
# end, so a failure half way leaves nothing behind. The folder is in DIR, on the
# same file system, so that each move is one rename: a server reading NAME.pem
# sees the old file or the new one, never half of one.
scratch=$PWD/$(mktemp -d .gen_certs.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# The same subject as the original tutorial, less the Common Name.
SUBJECT="/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit"
# The CA, and the tutorial's self-signed pair, are valid for ten years; what the CA
# signs for as long, or for --days N.
CA_DAYS=3650
days=${days:-$CA_DAYS}
# openssl reads the password from the environment (-passout env:P12_PASSWORD): on a
# command line, any user on the machine could read it with ps.
export P12_PASSWORD=${P12_PASSWORD:-mtls}

# Extensions live in a config file rather than in -addext, which older
# LibreSSL lacks. Verifiers today match host names against subjectAltName only
# (the Common Name is ignored), and strict chain checks (Python 3.13's default)
# want critical basicConstraints, keyUsage and both key identifiers. pathlen:0
# lets a CA sign only end certificates: one marked CA:TRUE by mistake still
# cannot sign others.
cat >"$scratch/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]

[tutorial]
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server]
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# openssl prints progress dots and key details; keep its output only for errors.
run_openssl() {
  openssl "$@" >"$scratch/openssl.log" 2>&1 ||
    fail "openssl $1 failed: $(grep -m1 -i error "$scratch/openssl.log" || tail -n1 "$scratch/openssl.log")"
}

# self_signed BASE SECTION CN: a new RSA 2048 key and a self-signed
# certificate for it, as BASE.pem and BASE-key.pem in the scratch folder.
self_signed() {
  run_openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days "$CA_DAYS" \
    -config "$scratch/openssl.cnf" -extensions "$2" -subj "$SUBJECT/CN=$3" \
    -keyout "$scratch/$1-key.pem" -out "$scratch/$1.pem"
}

# signed BASE SECTION CN CADIR: the same, but signed by CADIR/ca.pem.
signed() {
  run_openssl req -new -newkey rsa:2048 -nodes -sha256 \
    -config "$scratch/openssl.cnf" -subj "$SUBJECT/CN=$3" \
    -keyout "$scratch/$1-key.pem" -out "$scratch/$1.csr"
  # A random 128-bit serial: no serial file to keep, and no two alike.
  run_openssl x509 -req -sha256 -days "$days" -in "$scratch/$1.csr" \
    -CA "$4/ca.pem" -CAkey "$4/ca-key.pem" -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$scratch/openssl.cnf" -extensions "$2" -out "$scratch/$1.pem"
  rm "$scratch/$1.csr"
}

# bundle BASE CADIR: BASE.p12 holding the client's certificate and key, and
# CADIR/ca.pem.
bundle() {
  run_openssl pkcs12 -export -name "$1" -in "$scratch/$1.pem" -inkey "$scratch/$1-key.pem" \
    -certfile "$2/ca.pem" -passout env:P12_PASSWORD -out "$scratch/$1.p12"
}

case $mode in
  tutorial) files="cert.pem key.pem" ;;
  ca) files="ca.pem ca-key.pem server.pem server-key.pem client.pem client-key.pem client.p12" ;;
  client) files="$name.pem $name-key.pem $name.p12" ;;
esac

existing= missing=
for f in $files; do
  if [ -e "$f" ]; then existing="$existing $f"; else missing="$missing $f"; fi
done
if [ -n "$existing" ] && [ "$force" = 0 ]; then
  # All there: nothing to do. Only some: a new pair would not match what is left.
  [ -z "$missing" ] || fail "found${existing} but not${missing} in $dir; make them all anew with --force"
  echo "gen_certs.sh: keeping the existing${existing} in $dir (use --force to replace them)"
  exit 0
fi
# A symbolic link where a file goes could send a key into someone else's folder:
# never write through one.
for f in $files; do
  if [ -L "$f" ] || [ -d "$f" ]; then
    fail "$f in $dir is a symbolic link or a folder; remove it, or pass another folder"
  fi
done

case $mode in
  tutorial)
    self_signed cert tutorial localhost
    mv "$scratch/cert-key.pem" "$scratch/key.pem" ;;
  ca)
    self_signed ca ca "Tutorial CA"
    signed server server localhost "$scratch"
    signed client client client "$scratch"
    bundle client "$scratch" ;;
  client)
    signed "$name" client "$name" .
    bundle "$name" . ;;
esac

# Certificates are public; keys and bundles keep the 600 that umask gave them.
# Should a link or a folder appear at a file's name after the check above, mv
# must replace that name rather than move into what it points to: GNU mv says
# so with -T, BSD and macOS mv with -h.
: >"$scratch/probe"
if mv -T "$scratch/probe" "$scratch/probe.moved" 2>/dev/null; then no_follow=-T; else no_follow=-h; fi
for f in $files; do
  case $f in key.pem | *-key.pem | *.p12) ;; *) chmod 644 "$scratch/$f" ;; esac
  mv -f "$no_follow" "$scratch/$f" "$f" 2>"$scratch/mv.log" ||
    fail "cannot write $f in $dir ($(sed 's/.*: //' "$scratch/mv.log"))"
done
echo "gen_certs.sh: wrote$(printf ' %s' $files) in $dir"
