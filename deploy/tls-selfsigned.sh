#!/usr/bin/env bash
# Makes a private CA and a server certificate signed by it, for running idnode's gRPC with TLS
# where no CA-issued certificate is at hand (a test bed, an internal network).
#
#   deploy/tls-selfsigned.sh OUT_DIR NAME...
#
# NAME is a DNS name or an IPv4/IPv6 address the node is reached by (e.g. node1.example.cn
# 10.0.0.5); each becomes a subjectAltName. Writes OUT_DIR/ca.pem (give it to clients:
# idctl --tls-ca), OUT_DIR/server.pem and OUT_DIR/server.key (grpc.tls_cert, grpc.tls_key).
# The keys are ECDSA P-256; the certificates last 825 days. Existing files are not overwritten.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR NAME..." >&2
  exit 2
fi
out=$1
shift
mkdir -p "$out"
for f in ca.pem ca.key server.pem server.key; do
  if [ -e "$out/$f" ]; then
    echo "$0: $out/$f exists; not overwriting" >&2
    exit 1
  fi
done

san=""
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
    san+="${san:+,}IP:$name"
  else
    san+="${san:+,}DNS:$name"
  fi
done

umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
  -subj "/CN=idnode private CA" -keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=$1" -keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
  -CAcreateserial -days 825 -out "$out/server.pem" \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") 2>/dev/null
rm -f "$out/server.csr" "$out/ca.srl"
chmod 644 "$out/ca.pem" "$out/server.pem"
echo "wrote $out/ca.pem, $out/server.pem, $out/server.key (subjectAltName $san)"
