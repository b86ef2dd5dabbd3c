/**
 * A pure-Java Dockerfile parser: no Spring, no I/O beyond a {@link java.io.Reader}. It produces an immutable
 * {@link io.buildgateway.dockerfile.Dockerfile} with line ranges; a syntax error becomes a
 * {@link io.buildgateway.dockerfile.ParseError} with a line, never an exception.
 *
 * <p>It reads the bytes as the build host's daemon does (dockerd 20.10's classic builder, checked against it by
 * {@code ParserDifferentialIT}): lines end at \n only (one \r before it dropped; a lone \r is whitespace in the line);
 * the BOM; Go's whitespace, not Java's; directives by the daemon's expression, {@code escape} and {@code syntax} known,
 * any other directive ({@code check} included, which is kept for the rules) ending them; a continuation only where the
 * escape character is followed by spaces and tabs and is not itself escaped; comment and blank lines inside
 * continuations skipped; the keyword split at {@code [\t\v\f\r ]} and lower-cased with Go's case mapping; flags with
 * their quotes; ENV and LABEL arguments and ONBUILD triggers refused as the daemon refuses them; heredocs as BuildKit
 * finds them (whole unquoted words), or not at all ({@code parse(text, false)}, the classic builder).
 *
 * <p>{@link io.buildgateway.dockerfile.CanonicalDockerfile} writes the Dockerfile the daemon builds from that parse,
 * and refuses what it cannot write unambiguously. {@link io.buildgateway.dockerfile.Substitution} expands variables
 * the way the builder does. Uses only {@code shared}.
 */
package io.buildgateway.dockerfile;
