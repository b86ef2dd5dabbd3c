package io.buildgateway.dockerfile;

/** A syntax problem at a line: the parser reports it and carries on. */
public record ParseError(int line, String message) {
}
