#!/usr/bin/env bash
# Makes a throwaway certificate authority and one key + certificate per node for inter-node mutual TLS
# (inter.node.security.protocol=SSL), with the JDK's keytool only.
#
#   deploy/make-certs.sh DIR HOST [HOST...]
#
# For node i (1-based, in the order of the HOST arguments) it writes DIR/node-i.p12: the node's private key and its
# certificate (subject CN=node-i, signed by the CA, valid as TLS server and client, with HOST, localhost and
# 127.0.0.1 as subject alternative names), and the CA certificate. DIR/truststore.p12 holds the CA certificate only;
# DIR/ca.p12 holds the CA's private key (keep it out of the nodes). All stores are PKCS12 with the password in
# DIR/password (random, mode 600). Existing files in DIR are kept: run it on an empty or missing DIR.
# See docs/security.md for using certificates of your own CA instead.
set -euo pipefail

usage() { echo "usage: $0 DIR HOST [HOST...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
dir="$1"; shift
KEYTOOL="${JAVA_HOME:+$JAVA_HOME/bin/}keytool"
command -v "$KEYTOOL" >/dev/null || { echo "make-certs: keytool (from a JDK) not found" >&2; exit 3; }

mkdir -p "$dir"
if [ -e "$dir/ca.p12" ]; then
  echo "make-certs: $dir/ca.p12 exists; use an empty directory" >&2
  exit 4
fi
umask 077
password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
printf '%s' "$password" >"$dir/password"

kt() { "$KEYTOOL" "$@" -storetype PKCS12 -storepass "$password" >/dev/null 2>"$dir/keytool.err" ||
  { cat "$dir/keytool.err" >&2; exit 1; }; }

kt -genkeypair -alias ca -dname "CN=tributary-ca" -keyalg EC -groupname secp256r1 -validity 3650 \
  -ext bc:c -keystore "$dir/ca.p12"
"$KEYTOOL" -exportcert -alias ca -rfc -keystore "$dir/ca.p12" -storetype PKCS12 -storepass "$password" \
  -file "$dir/ca.pem" >/dev/null 2>&1
kt -importcert -noprompt -alias ca -file "$dir/ca.pem" -keystore "$dir/truststore.p12"

san_of() { # host -> SAN entry
  if [[ "$1" =~ ^[0-9.]+$ || "$1" == *:* ]]; then echo "IP:$1"; else echo "DNS:$1"; fi
}

i=0
for host in "$@"; do
  i=$((i + 1))
  store="$dir/node-$i.p12"
  kt -genkeypair -alias node -dname "CN=node-$i" -keyalg EC -groupname secp256r1 -validity 3650 \
    -keystore "$store"
  kt -certreq -alias node -keystore "$store" -file "$dir/node-$i.csr"
  sans="$(san_of "$host"),DNS:localhost,IP:127.0.0.1"
  kt -gencert -alias ca -keystore "$dir/ca.p12" -infile "$dir/node-$i.csr" -outfile "$dir/node-$i.pem" -rfc \
    -validity 3650 -ext "SAN=$sans" -ext KU=digitalSignature,keyEncipherment -ext EKU=serverAuth,clientAuth
  kt -importcert -noprompt -alias ca -file "$dir/ca.pem" -keystore "$store"
  kt -importcert -alias node -file "$dir/node-$i.pem" -keystore "$store"
  rm -f "$dir/node-$i.csr"
done
rm -f "$dir/keytool.err"
echo "make-certs: CA and $i node keystores in $dir (password in $dir/password)"
