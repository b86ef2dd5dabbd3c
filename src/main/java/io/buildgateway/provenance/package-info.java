/**
 * Signed provenance for every pushed image (docs/slsa.md): an in-toto Statement v1 with a SLSA Provenance v1
 * predicate, built from what the build recorded, signed with the gateway's key as a DSSE envelope in the transaction
 * that marks the build SUCCEEDED, served at {@code /api/v1/images/{digest}/provenance}, and attached to the image in
 * the registry as a cosign attestation ({@code sha256-<hex>.att}) so admission controllers find it. Front door:
 * {@link io.buildgateway.provenance.Provenance}; the statement ({@code ProvenanceStatement}), the envelope
 * ({@code Dsse}) and the registry layout ({@code CosignAttestation}) are pure functions. Uses auth (who may read),
 * builds (the {@code BuildSucceeded} event), hostpool (the registry, with the gateway's credentials), signing and
 * shared.
 */
package io.buildgateway.provenance;
