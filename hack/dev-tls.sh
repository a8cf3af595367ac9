#!/usr/bin/env bash
# A throwaway CA and a localhost server certificate for local testing:
#
#   hack/dev-tls.sh DIR
#   TFM_SERVER_TLS_CERT_FILE=DIR/server.crt TFM_SERVER_TLS_KEY_FILE=DIR/server.key npx tfmirror serve
#   NODE_EXTRA_CA_CERTS=DIR/ca.crt ...        # Node clients trusting it
#   SSL_CERT_FILE=DIR/ca.crt terraform init   # Terraform (Linux) trusting it
#
# Writes ca.crt, ca.key, server.crt, server.key (keys mode 0600). Never use these in production.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
command -v openssl >/dev/null 2>&1 || { echo "dev-tls: openssl is not on PATH" >&2; exit 2; }

DIR="$1"
DAYS="${DAYS:-30}"
mkdir -p "$DIR"
umask 077

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$DAYS" \
  -subj "/CN=terraform-mirror dev CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>/dev/null

openssl req -newkey rsa:2048 -nodes -sha256 \
  -subj "/CN=localhost" \
  -keyout "$DIR/server.key" -out "$DIR/server.csr" 2>/dev/null

EXT="$(mktemp)"
trap 'rm -f "$EXT" "$DIR/server.csr" "$DIR/ca.srl"' EXIT
cat >"$EXT" <<EXTEOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXTEOF

openssl x509 -req -sha256 -days "$DAYS" -in "$DIR/server.csr" \
  -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
  -extfile "$EXT" -out "$DIR/server.crt" 2>/dev/null

chmod 0644 "$DIR/ca.crt" "$DIR/server.crt"
openssl verify -CAfile "$DIR/ca.crt" "$DIR/server.crt" >/dev/null
echo "dev-tls: wrote $DIR/ca.crt $DIR/server.crt $DIR/server.key (CA key $DIR/ca.key)"
