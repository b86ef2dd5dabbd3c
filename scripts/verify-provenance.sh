#!/usr/bin/env bash
# Verifies the gateway's signed SLSA provenance of an image with curl, jq and openssl only (no cosign needed).
#
#   scripts/verify-provenance.sh --key gateway.pub <registry>/<repository>@sha256:<hex>
#       fetches the image's cosign attestation (tag sha256-<hex>.att) from the registry, and checks every SLSA
#       provenance layer in it: blob digest, DSSE signature over PAE(payloadType, payload) with the public key,
#       the statement's type, predicate type and subject digest (= the image's digest).
#   scripts/verify-provenance.sh --key gateway.pub --envelope provenance.json sha256:<hex>
#       checks an envelope as served by GET /api/v1/images/{digest}/provenance instead.
#
# Options: --builder-id ID   also require runDetails.builder.id to be ID
#          --plain-http      talk to the registry without TLS (default for 127.0.0.0/8 and localhost)
#          --quiet           print nothing but errors
# Registry credentials, when needed, come from REGISTRY_USER and REGISTRY_PASSWORD (HTTP Basic).
# Exit status: 0 when at least one provenance attestation verifies with the key, 1 otherwise (an attestation
# signed by another key is reported and does not count).
set -euo pipefail

PREDICATE=https://slsa.dev/provenance/v1
STATEMENT=https://in-toto.io/Statement/v1
PAYLOAD_TYPE=application/vnd.in-toto+json
KEY="" ENVELOPE="" BUILDER="" PLAIN="" QUIET=false IMAGE=""

die() { echo "verify-provenance: $*" >&2; exit 1; }
say() { $QUIET || echo "$@"; }

while [ $# -gt 0 ]; do
  case $1 in
    --key) KEY=${2:?--key needs a file}; shift 2 ;;
    --envelope) ENVELOPE=${2:?--envelope needs a file}; shift 2 ;;
    --builder-id) BUILDER=${2:?--builder-id needs a value}; shift 2 ;;
    --plain-http) PLAIN=true; shift ;;
    --quiet) QUIET=true; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$IMAGE" ] || die "one image at a time"; IMAGE=$1; shift ;;
  esac
done
[ -n "$KEY" ] && [ -r "$KEY" ] || die "--key <public key PEM> is required (GET /api/v1/signing-key serves it)"
[ -n "$IMAGE" ] || die "name the image: <registry>/<repository>@sha256:<hex> (or sha256:<hex> with --envelope)"
for tool in curl jq openssl base64 sha256sum; do command -v $tool >/dev/null || die "$tool is not installed"; done

DIGEST=${IMAGE##*@}
[[ $DIGEST =~ ^sha256:[0-9a-f]{64}$ ]] || die "the image must be named by digest (…@sha256:<64 hex>), not '$IMAGE'"
HEX=${DIGEST#sha256:}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# verify_envelope <file>: 0 when the envelope is a valid provenance of $DIGEST signed by $KEY.
verify_envelope() {
  local env=$1 n=$2
  jq -e 'type == "object" and (.payload|type) == "string" and (.signatures|type) == "array"' "$env" >/dev/null \
    || { echo "attestation $n: not a DSSE envelope" >&2; return 1; }
  local ptype; ptype=$(jq -r '.payloadType' "$env")
  [ "$ptype" = "$PAYLOAD_TYPE" ] || { echo "attestation $n: payloadType is '$ptype', not $PAYLOAD_TYPE" >&2; return 1; }
  jq -r '.payload' "$env" | base64 -d >"$WORK/payload" 2>/dev/null \
    || { echo "attestation $n: the payload is not base64" >&2; return 1; }
  # PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body, lengths in bytes (DSSE protocol.md).
  { printf 'DSSEv1 %d %s %d ' "$(printf '%s' "$ptype" | wc -c)" "$ptype" "$(wc -c <"$WORK/payload")"
    cat "$WORK/payload"; } >"$WORK/pae"
  local ok=false i count
  count=$(jq '.signatures | length' "$env")
  for ((i = 0; i < count; i++)); do
    jq -r ".signatures[$i].sig" "$env" | base64 -d >"$WORK/sig" 2>/dev/null || continue
    if openssl dgst -sha256 -verify "$KEY" -signature "$WORK/sig" "$WORK/pae" >/dev/null 2>&1; then
      ok=true; break
    fi
  done
  $ok || { echo "attestation $n: no signature verifies with $KEY" >&2; return 1; }
  jq -e --arg t "$STATEMENT" '._type == $t' "$WORK/payload" >/dev/null \
    || { echo "attestation $n: the payload is not an in-toto Statement v1" >&2; return 1; }
  jq -e --arg p "$PREDICATE" '.predicateType == $p' "$WORK/payload" >/dev/null \
    || { echo "attestation $n: predicateType is not $PREDICATE" >&2; return 1; }
  jq -e --arg h "$HEX" 'any(.subject[]; .digest.sha256 == $h)' "$WORK/payload" >/dev/null \
    || { echo "attestation $n: signed, but about another image (no subject has digest $DIGEST)" >&2; return 1; }
  if [ -n "$BUILDER" ]; then
    jq -e --arg b "$BUILDER" '.predicate.runDetails.builder.id == $b' "$WORK/payload" >/dev/null \
      || { echo "attestation $n: builder.id is not $BUILDER" >&2; return 1; }
  fi
  say "attestation $n: verified SLSA provenance of $DIGEST"
  $QUIET || jq -r '"  builder:     " + .predicate.runDetails.builder.id,
    "  build:       " + .predicate.runDetails.metadata.invocationId + " (" + (.predicate.runDetails.metadata.startedOn // "?") + " – " + .predicate.runDetails.metadata.finishedOn + ")",
    "  buildType:   " + .predicate.buildDefinition.buildType,
    "  image:       " + .predicate.buildDefinition.externalParameters.image + ":" + .predicate.buildDefinition.externalParameters.tag,
    "  policy:      " + .predicate.buildDefinition.internalParameters.policyDigest,
    (.predicate.buildDefinition.resolvedDependencies[] | "  dependency:  " + .name + " sha256:" + .digest.sha256)' \
    "$WORK/payload"
  return 0
}

if [ -n "$ENVELOPE" ]; then
  verify_envelope "$ENVELOPE" 1
  exit $?
fi

REF=${IMAGE%@*}
REGISTRY=${REF%%/*}
REPOSITORY=${REF#*/}
REPOSITORY=${REPOSITORY%:*}   # a tag before the digest is ignored: the digest names the image
[ "$REGISTRY" != "$REF" ] || die "the image must include its registry: <registry>/<repository>@sha256:<hex>"
if [ -z "$PLAIN" ]; then
  case $REGISTRY in 127.*|localhost|localhost:*) PLAIN=true ;; *) PLAIN=false ;; esac
fi
SCHEME=https; [ "$PLAIN" = true ] && SCHEME=http
API="$SCHEME://$REGISTRY/v2/$REPOSITORY"
CURL=(curl -sS -f --max-time 30)
[ -n "${REGISTRY_USER:-}" ] && CURL+=(-u "$REGISTRY_USER:${REGISTRY_PASSWORD:-}")

"${CURL[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o "$WORK/manifest" \
    "$API/manifests/sha256-$HEX.att" 2>"$WORK/err" \
  || die "no attestation for $DIGEST in $REGISTRY/$REPOSITORY (tag sha256-$HEX.att): $(cat "$WORK/err")"
mapfile -t LAYERS < <(jq -r --arg p "$PREDICATE" '.layers[]
    | select(.mediaType == "application/vnd.dsse.envelope.v1+json" and .annotations.predicateType == $p)
    | .digest' "$WORK/manifest")
[ ${#LAYERS[@]} -gt 0 ] || die "the attestation of $DIGEST has no SLSA provenance layer"

verified=0 failed=0 n=0
for layer in "${LAYERS[@]}"; do
  n=$((n + 1))
  [[ $layer =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "attestation $n: bad layer digest" >&2; failed=$((failed + 1)); continue; }
  "${CURL[@]}" -o "$WORK/envelope" "$API/blobs/$layer" || { failed=$((failed + 1)); continue; }
  [ "sha256:$(sha256sum "$WORK/envelope" | cut -d' ' -f1)" = "$layer" ] \
    || { echo "attestation $n: the registry served other content for $layer" >&2; failed=$((failed + 1)); continue; }
  if verify_envelope "$WORK/envelope" $n; then verified=$((verified + 1)); else failed=$((failed + 1)); fi
done
say "$verified of $n provenance attestation(s) verified"
[ "$verified" -gt 0 ] || exit 1
