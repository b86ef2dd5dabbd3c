package io.buildgateway.support;

import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * How an integration test class uses the environment that {@code scripts/env.sh} brings up, which the two JVMs of
 * {@code make test} (failsafe's {@code it.forks}) share: one registry, one user-namespaced build host, one egress
 * relay. Without this annotation a class shares the environment with the class the other JVM runs; its gateway, its
 * PostgreSQL and its data folder are its JVM's own. {@link EnvironmentLocks} holds what is declared here for the whole
 * class, across both JVMs.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Inherited
public @interface EnvironmentUse {

    /**
     * The class stops or kills a part of the shared environment (the registry, the build host's daemon), empties what
     * others use (the build host's cache), or reads what other builds on the host would change: BuildKit merges the
     * identical steps of builds that run at once into one vertex, named after the build that made it, so the step
     * numbers the oracle tests compare come from another build's Dockerfile while the other JVM builds the same base.
     * It runs while no other class runs.
     */
    boolean exclusive() default false;

    /**
     * Parts of the environment the class re-points and that one class at a time may hold, for example
     * {@link #EGRESS_RELAY}; the other JVM still runs classes that do not name them.
     */
    String[] holds() default {};

    /** The egress relay of scripts/env.sh, which leads to the port a test writes into BGW_EGRESS_PORT_FILE. */
    String EGRESS_RELAY = "egress-relay";
}
