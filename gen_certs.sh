#!/usr/bin/env bash
# Make the certificates for the mutual TLS tutorial, with the openssl command.
#
#   ./gen_certs.sh [--force] [DIR]
#       The tutorial's one self-signed certificate (cert.pem) and its key
#       (key.pem). The server and the client both use it as their identity
#       and both trust it as their CA. No CA renews or revokes it: --force
#       makes a new pair.
#   ./gen_certs.sh --ca [--days N] [--force] [DIR]
#       A small CA (ca.pem, ca-key.pem), a server certificate it signs
#       (server.pem, server-key.pem), a client certificate whose subject
#       Common Name is "client" (client.pem, client-key.pem, client.p12),
#       and the CA's list of revoked certificates, empty (crl.pem).
#   ./gen_certs.sh --client NAME [--days N] [--force] [DIR]
#       One more client, NAME.pem, NAME-key.pem and NAME.p12, signed by the
#       CA in DIR that --ca made. NAME is up to 64 letters, digits, '.', '_'
#       and '-', not first '-' or '.', and not ca, server, client, cert, key,
#       crl or anything ending in -key, whose files are already others', nor
#       localhost, the server's Common Name.
#   ./gen_certs.sh --renew NAME [--days N] [DIR]
#       A new certificate for server, client or a NAME made with --client:
#       the same subject, extensions and key, a new serial and end date. Only
#       NAME.pem (and a client's NAME.p12) change, each replaced in one step
#       once the new one is complete. A revoked NAME gets a new key too
#       (NAME-key.pem), since the old one may be in others' hands.
#   ./gen_certs.sh --revoke NAME [DIR]
#       Revoke NAME.pem, and any earlier certificate of NAME, and write
#       crl.pem anew. Revoking NAME again just writes crl.pem anew.
#   ./gen_certs.sh --crl [DIR]
#       Write crl.pem anew. It is valid for 365 days; past that, a server
#       that checks it refuses every client, so write it anew within the year.
#
# DIR defaults to the current folder. Files that already exist are kept
# unless --force is given. Certificates are valid for 3650 days, or N days
# with --days N (1 to 3650); the CA itself always for 3650. The PKCS#12
# bundles (.p12), for browsers and key stores, are protected by the password
# in $P12_PASSWORD, "mtls" if unset. The CA's records are in DIR/ca-db/,
# private like the keys: index.txt (openssl ca's list of the certificates
# it signed and revoked), crlnumber (the number of the next CRL) and
# certs/SERIAL.pem (a copy of each certificate signed, to revoke it later).
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
  echo "usage: gen_certs.sh [--ca | --client NAME | --renew NAME | --revoke NAME | --crl]" \
    "[--days N] [--force] [DIR]" >&2
  echo "gen_certs.sh: $* (see --help)" >&2
  exit 2
}

mode=tutorial force=0 dir= name= days= days_given=0
while [ $# -gt 0 ]; do
  case $1 in
    --force) force=1 ;;
    --ca | --client | --renew | --revoke | --crl)
      [ "$mode" = tutorial ] ||
        usage_error "give only one of --ca, --client NAME, --renew NAME, --revoke NAME and --crl"
      mode=${1#--}
      case $mode in
        client | renew | revoke)
          [ $# -ge 2 ] || usage_error "$1 needs a NAME, for example: $1 bob"
          name=$2
          shift ;;
      esac ;;
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
    ca | client | renew) ;;
    *) usage_error "--days goes with --ca, --client or --renew, which sign certificates" ;;
  esac
  case $days in
    '' | 0* | *[!0-9]*) usage_error "--days takes a whole number of days from 1 to 3650, not '$days'" ;;
  esac
  [ ${#days} -le 4 ] && [ "$days" -le 3650 ] ||
    usage_error "--days takes a whole number of days from 1 to 3650, not '$days'"
fi
# --renew, --revoke and --crl replace only the files they must, whatever is there.
case $mode in
  renew | revoke | crl) [ "$force" = 0 ] || usage_error "--$mode replaces only what it must, and takes no --force" ;;
esac

# A client's name becomes its file names and its certificate's Common Name: keep it to
# characters that are safe in both, and never one whose files are another's: those of
# --ca and the tutorial, crl.pem, or NAME-key.pem, the key of client NAME. In any case,
# since some file systems do not tell ca.pem from CA.pem. Nor the server's Common Name:
# --revoke NAME revokes every certificate with NAME's subject.
case $mode in client) label="client name" ;; *) label=name ;; esac
case $mode in
  client | renew | revoke)
    case $name in
      '' | [-.]* | *[!A-Za-z0-9._-]*)
        usage_error "$label '$name' is not allowed: use letters, digits, '.', '_' and '-', not first '-' or '.'" ;;
    esac
    [ ${#name} -le 64 ] || usage_error "$label '$name' is longer than 64 characters, the most a Common Name holds"
    name_in_lower_case=$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]') ;;
esac
case $mode:${name_in_lower_case-} in
  client:ca | client:server | client:client | client:cert | client:key | client:crl | client:*-key)
    usage_error "client name '$name' is taken: ca, server, client, cert, key, crl" \
      "and names ending in -key name other files" ;;
  client:localhost)
    usage_error "client name '$name' is the server's Common Name; choose another" ;;
  renew:ca | renew:cert | renew:key | renew:crl | renew:*-key | \
    revoke:ca | revoke:cert | revoke:key | revoke:crl | revoke:*-key)
    usage_error "--$mode takes server, client or a NAME made with --client, not '$name'" ;;
esac

command -v openssl >/dev/null 2>&1 ||
  fail "the openssl command was not found; install OpenSSL (apt-get install openssl, brew install openssl) and run again"

# A new client, renewing, revoking and the CRL need the CA: check before anything is
# made, so that a mistyped folder is not created.
case $mode in
  client | renew | revoke | crl)
    [ -f "$dir/ca.pem" ] && [ -f "$dir/ca-key.pem" ] ||
      fail "no CA in $dir (ca.pem and ca-key.pem); make one first with: ./gen_certs.sh --ca $dir" ;;
esac
case $mode in
  renew | revoke) [ -f "$dir/$name.pem" ] || fail "no $name.pem in $dir to $mode" ;;
esac

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
# A CRL says until when it may be used. A year: a copy no one updates stops being
# trusted within the year instead of hiding later revocations for good, and a CA that
# seldom revokes has a year to write it anew (--crl) before servers refuse everyone.
CRL_DAYS=365
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

# The CA's database, for `openssl ca`: which certificates it signed and which it
# revoked (index.txt), and the number of its next CRL (crlnumber). It is worked on in
# the scratch folder, where `openssl ca` runs, and moved into DIR/ca-db/ at the end.
# Revoking a certificate does not need the database to hold it first, so signing stays
# with `openssl x509 -req`; each certificate is then added to it (see record). RFC 5280
# asks a CRL for its number and its issuer's key identifier; strict verifiers check them.
cat >"$scratch/ca.cnf" <<'EOF'
[ca]
default_ca = tutorial_ca

[tutorial_ca]
database = ca-db/index.txt
crlnumber = ca-db/crlnumber
default_md = sha256
# A renewed certificate, or a client made anew with --force, has the subject of the one
# it replaces, and both stay on record.
unique_subject = no
crl_extensions = crl_extensions

[crl_extensions]
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
  sign_request "$1" "$2" "$4"
}

# sign_request BASE SECTION CADIR: BASE.pem from the request BASE.csr, for --days,
# signed by CADIR/ca.pem and put on the CA's record.
sign_request() {
  # A random 128-bit serial: no serial file to keep, and no two alike.
  run_openssl x509 -req -sha256 -days "$days" -in "$scratch/$1.csr" \
    -CA "$3/ca.pem" -CAkey "$3/ca-key.pem" -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$scratch/openssl.cnf" -extensions "$2" -out "$scratch/$1.pem"
  rm "$scratch/$1.csr"
  record "$scratch/$1.pem"
}

# bundle BASE CADIR [KEYDIR]: BASE.p12 holding the client's certificate, its key
# (from KEYDIR, the scratch folder if not given), and CADIR/ca.pem.
bundle() {
  run_openssl pkcs12 -export -name "$1" -in "$scratch/$1.pem" -inkey "${3:-$scratch}/$1-key.pem" \
    -certfile "$2/ca.pem" -passout env:P12_PASSWORD -out "$scratch/$1.p12"
}

# ca_database ARGUMENT...: `openssl ca` on the database in the scratch folder, as the CA
# in $cadir. Paths given to it must be absolute.
ca_database() {
  (cd "$scratch" && run_openssl ca -batch -config ca.cnf -cert "$cadir/ca.pem" -keyfile "$cadir/ca-key.pem" "$@")
}

# serial_of CERT: CERT's serial number in hexadecimal, as the database writes it.
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

# status_of SERIAL: V (valid) or R (revoked) if the database has SERIAL, else nothing.
status_of() {
  serial=$1 awk -F '\t' 'toupper($4) == toupper(ENVIRON["serial"]) { print $1 }' "$scratch/ca-db/index.txt"
}

# subject_of SERIAL: the subject the database has for SERIAL, as /C=US/.../CN=NAME.
subject_of() {
  serial=$1 awk -F '\t' 'toupper($4) == toupper(ENVIRON["serial"]) { print $6 }' "$scratch/ca-db/index.txt"
}

# record CERT: put CERT on the CA's record, and a copy of it in ca-db/certs/, unless it
# is there already; `openssl ca -revoke` needs the certificate, and the copy is kept
# for when CERT's file has been replaced.
record() {
  local serial
  serial=$(serial_of "$1")
  [ -z "$(status_of "$serial")" ] || return 0
  ca_database -valid "$1"
  cp "$1" "$scratch/ca-db/certs/$serial.pem"
}

# signed_by_ca CERT: whether ca.pem in DIR signed CERT (even one out of date).
signed_by_ca() { openssl verify -no_check_time -CAfile ca.pem "$1" >/dev/null 2>&1; }

# files: what this run makes and reports, which --force must allow to replace;
# also: what it writes anew whatever is there.
also=
case $mode in
  tutorial) files="cert.pem key.pem" ;;
  ca) files="ca.pem ca-key.pem server.pem server-key.pem client.pem client-key.pem client.p12" also=crl.pem ;;
  client) files="$name.pem $name-key.pem $name.p12" ;;
  renew) files=$name.pem; [ "$name" = server ] || files="$files $name.p12" ;;
  revoke | crl) files= also=crl.pem ;;
esac

case $mode in
  tutorial | ca | client)
    existing= missing=
    for f in $files; do
      if [ -e "$f" ]; then existing="$existing $f"; else missing="$missing $f"; fi
    done
    if [ -n "$existing" ] && [ "$force" = 0 ]; then
      # All there: nothing to do. Only some: a new pair would not match what is left.
      [ -z "$missing" ] || fail "found${existing} but not${missing} in $dir; make them all anew with --force"
      echo "gen_certs.sh: keeping the existing${existing} in $dir (use --force to replace them)"
      exit 0
    fi ;;
esac
# A symbolic link where a file goes could send a key into someone else's folder:
# never write through one.
[ "$mode" = tutorial ] || db="ca-db/index.txt ca-db/index.txt.attr ca-db/crlnumber"
for f in $files $also ${db-}; do
  if [ -L "$f" ] || [ -d "$f" ]; then
    fail "$f in $dir is a symbolic link or a folder; remove it, or pass another folder"
  fi
done
if [ "$mode" != tutorial ]; then
  for f in ca-db ca-db/certs; do
    if [ -L "$f" ] || { [ -e "$f" ] && [ ! -d "$f" ]; }; then
      fail "$f in $dir is a symbolic link or not a folder; remove it, or pass another folder"
    fi
  done
fi

# The CA's database: a new one for a new CA; otherwise a copy of the one in DIR, or a
# new one for a CA made before gen_certs.sh kept one.
if [ "$mode" != tutorial ]; then
  mkdir -p "$scratch/ca-db/certs"
  if [ "$mode" != ca ] && [ -e ca-db ]; then
    for f in index.txt crlnumber; do
      [ -f "ca-db/$f" ] ||
        fail "no $f in $dir/ca-db, the CA's record of what it revoked; restore ca-db from a backup"
    done
    cp ca-db/index.txt ca-db/crlnumber "$scratch/ca-db/"
    [ ! -f ca-db/index.txt.attr ] || cp ca-db/index.txt.attr "$scratch/ca-db/"
  else
    : >"$scratch/ca-db/index.txt"
    echo 01 >"$scratch/ca-db/crlnumber"
  fi
fi
case $mode in ca) cadir=$scratch ;; *) cadir=$PWD ;; esac

case $mode in
  renew | revoke)
    signed_by_ca "$name.pem" ||
      fail "$name.pem in $dir is not signed by the CA there (ca.pem), so it cannot be" \
        "$(if [ "$mode" = renew ]; then echo renewed; else echo revoked; fi) here"
    # On record first, as every certificate the CA signs: revoking NAME finds it there.
    record "$PWD/$name.pem"
    serial=$(serial_of "$name.pem")
    status=$(status_of "$serial") ;;
esac

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
    # The certificate replaced stays on record, so that revoking NAME revokes it too.
    if [ -f "$name.pem" ] && signed_by_ca "$name.pem"; then record "$PWD/$name.pem"; fi
    signed "$name" client "$name" .
    bundle "$name" . ;;
  renew)
    case $name in server) section=server ;; *) section=client ;; esac
    if [ "$status" = R ]; then
      # A revoked certificate's key may be in others' hands: a new certificate for it would
      # let them back in. So NAME gets a new key, with the subject on record.
      if [ -L "$name-key.pem" ] || [ -d "$name-key.pem" ]; then
        fail "$name-key.pem in $dir is a symbolic link or a folder; remove it, or pass another folder"
      fi
      run_openssl req -new -newkey rsa:2048 -nodes -sha256 \
        -config "$scratch/openssl.cnf" -subj "$(subject_of "$serial")" \
        -keyout "$scratch/$name-key.pem" -out "$scratch/$name.csr"
      files="$name-key.pem $files"
      keydir=$scratch
    else
      [ -f "$name-key.pem" ] || fail "no $name-key.pem in $dir; --renew keeps the key of $name.pem, so it needs it"
      cert_key=$(openssl x509 -in "$name.pem" -noout -pubkey)
      [ "$cert_key" = "$(openssl pkey -in "$name-key.pem" -pubout </dev/null 2>&1)" ] ||
        fail "$name-key.pem in $dir is not the key of $name.pem; --renew keeps the key, so they must match"
      # The request carries the subject and the key of the certificate renewed.
      run_openssl x509 -x509toreq -in "$name.pem" -signkey "$name-key.pem" -out "$scratch/$name.csr"
      keydir=.
    fi
    sign_request "$name" "$section" .
    [ "$name" = server ] || bundle "$name" . "$keydir" ;;
  revoke)
    # Every certificate on record with NAME's subject: NAME.pem and those it replaced.
    subject=$(subject_of "$serial")
    earlier=0
    for s in $(subject=$subject awk -F '\t' '$1 == "V" && $6 == ENVIRON["subject"] { print $4 }' \
      "$scratch/ca-db/index.txt"); do
      if [ "$s" = "$serial" ]; then copy=$PWD/$name.pem
      elif [ -f "ca-db/certs/$s.pem" ]; then copy=$PWD/ca-db/certs/$s.pem; earlier=$((earlier + 1))
      elif [ -f "$scratch/ca-db/certs/$s.pem" ]; then copy=$scratch/ca-db/certs/$s.pem; earlier=$((earlier + 1))
      else fail "no copy of certificate $s, an earlier one of $name, in $dir/ca-db/certs; it cannot be revoked"
      fi
      ca_database -revoke "$copy"
    done ;;
esac
case $mode in
  ca | revoke | crl) ca_database -gencrl -crldays "$CRL_DAYS" -out "$scratch/crl.pem" ;;
esac

# What is reported; then the files in the order they are moved: the CA's database
# first, with crl.pem after it, so that a failure half way leaves a database from
# which the next run writes a CRL that lists everything revoked.
shown="$files $also"
if [ "$mode" != tutorial ]; then
  [ "$mode" != ca ] || { rm -rf ca-db; shown="$shown ca-db/"; }
  mkdir -p ca-db/certs
  db=$(cd "$scratch" && for f in ca-db/certs/*.pem ca-db/index.txt.attr; do [ ! -e "$f" ] || echo "$f"; done)
  files="$db ca-db/crlnumber ca-db/index.txt $files"
fi
files="$files $also"

# Certificates are public; keys and bundles keep the 600 that umask gave them.
# Should a link or a folder appear at a file's name after the check above, mv
# must replace that name rather than move into what it points to: GNU mv says
# so with -T, BSD and macOS mv with -h.
: >"$scratch/probe"
if mv -T "$scratch/probe" "$scratch/probe.moved" 2>/dev/null; then no_follow=-T; else no_follow=-h; fi
for f in $files; do
  case $f in key.pem | *-key.pem | *.p12 | ca-db/*) ;; *) chmod 644 "$scratch/$f" ;; esac
  mv -f "$no_follow" "$scratch/$f" "$f" 2>"$scratch/mv.log" ||
    fail "cannot write $f in $dir ($(sed 's/.*: //' "$scratch/mv.log"))"
done

plural() { if [ "$1" = 1 ]; then echo "1 $2"; else echo "$1 $2s"; fi; }
case $mode in
  tutorial | ca | client) echo "gen_certs.sh: wrote$(printf ' %s' $shown) in $dir" ;;
  renew)
    what=$name.pem
    [ "$name" = server ] || what="$what and $name.p12"
    what="$what for $(plural "$days" day) in $dir"
    [ "$status" != R ] || what="$what, with a new key ($name-key.pem) since $name.pem was revoked"
    echo "gen_certs.sh: renewed $what" ;;
  revoke)
    if [ "$status" = R ]; then what="$name.pem was already revoked"; else what="revoked $name.pem"; fi
    if [ "$earlier" != 0 ]; then
      if [ "$status" = R ]; then what="$what; revoked"; else what="$what and"; fi
      what="$what $(plural "$earlier" "earlier certificate") of $name"
    fi
    echo "gen_certs.sh: $what; wrote crl.pem in $dir" ;;
  crl) echo "gen_certs.sh: wrote crl.pem in $dir" ;;
esac
