package io.buildgateway.shared;

import java.util.concurrent.ThreadFactory;

/** Thread factories for the gateway's background pools: named threads that never keep the JVM alive. */
public final class DaemonThreads {

    private DaemonThreads() {
    }

    /** Daemon threads named {@code name}. */
    public static ThreadFactory named(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
