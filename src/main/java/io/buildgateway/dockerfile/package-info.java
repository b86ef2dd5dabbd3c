/**
 * A pure-Java Dockerfile parser: no Spring, no I/O beyond a {@link java.io.Reader}. It produces an immutable
 * {@link io.buildgateway.dockerfile.Dockerfile} with line ranges; a syntax error becomes a
 * {@link io.buildgateway.dockerfile.ParseError} with a line, never an exception. Handles the BOM, parser directives
 * ({@code escape}, {@code syntax}, {@code check}), comments, continuations with either escape character, empty
 * continuation lines, heredocs, flags, and JSON versus shell form. {@link io.buildgateway.dockerfile.Substitution}
 * expands variables the way the builder does. Uses only {@code shared}.
 */
package io.buildgateway.dockerfile;
