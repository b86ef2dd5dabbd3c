package io.buildgateway.shared;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the gateway reads of the local system: Linux's {@code /proc/<pid>/stat} lines and executables by path. */
public final class ProcFiles {

    private ProcFiles() {
    }

    /**
     * The fields of a {@code /proc/.../stat} line after the command name (field 3, the state, is index 0): the name is
     * in parentheses and may hold spaces, so the fields are counted after its last ')'. Null when unreadable.
     */
    public static String[] statFields(Path stat) {
        try {
            String raw = Files.readString(stat, StandardCharsets.ISO_8859_1);
            return raw.substring(raw.lastIndexOf(')') + 2).split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The first of {@code candidates} that is an executable file, or null. */
    public static String firstExecutable(String... candidates) {
        for (String c : candidates) {
            if (Files.isExecutable(Path.of(c))) {
                return c;
            }
        }
        return null;
    }
}
