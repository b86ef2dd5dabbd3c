package io.buildgateway.shared;

/**
 * An image reference split the way the daemon splits it: {@code name[:tag][@digest]}, where the name may begin with
 * a registry host ({@code host[:port]/repository}). A tag is a colon after the last slash, so a registry port is not
 * taken for one. Nothing is validated here: the policy checks the reference grammar before it approves (or reads) an image,
 * the host pool checks a repository's name before it grants or reads it, and the inventory splits only references
 * the policy has judged or the gateway wrote itself.
 *
 * @param name everything before the tag and digest (registry host included)
 * @param tag the tag, or null when there is none
 * @param digest the digest after {@code @}, or null when the reference is not pinned
 */
public record ImageReference(String name, String tag, String digest) {

    public static ImageReference split(String image) {
        String rest = image;
        String digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = rest.substring(at + 1);
            rest = rest.substring(0, at);
        }
        String tag = null;
        int colon = rest.lastIndexOf(':');
        if (colon > rest.lastIndexOf('/')) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
        }
        return new ImageReference(rest, tag, digest);
    }

    /**
     * The repository this reference names on {@code registry} ({@code host[:port]}), or null when it names another
     * registry (or no repository at all).
     */
    public String repositoryOn(String registry) {
        String prefix = registry + "/";
        return name.startsWith(prefix) && name.length() > prefix.length() ? name.substring(prefix.length()) : null;
    }

    /** What a registry's manifest endpoint is asked for: the digest when pinned (it decides), else the tag, else latest. */
    public String manifestReference() {
        return digest != null ? digest : tag != null ? tag : "latest";
    }
}
