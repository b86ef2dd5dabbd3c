import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.jar.JarFile;

/**
 * A tiny Maven resolver for EgressBuildIT's Java build (Maven itself is not in the approved base): fetches a
 * coordinate's pom and jar and their .sha1 from a Maven repository layout through the proxy in HTTP_PROXY (the
 * build's egress proxy, with its Basic credentials), checks each sha1 as Maven's resolver does, writes them into a
 * local repository layout and opens the jar.
 *
 * Usage: java Resolver <repository URL> <groupId:artifactId:version> <local repository>
 */
public class Resolver {

    public static void main(String[] args) throws Exception {
        String env = System.getenv("HTTP_PROXY") != null ? System.getenv("HTTP_PROXY") : System.getenv("http_proxy");
        if (env == null) {
            throw new IllegalStateException("no HTTP_PROXY");
        }
        URI proxy = URI.create(env);
        String[] c = args[1].split(":");
        String folder = c[0].replace('.', '/') + "/" + c[1] + "/" + c[2];
        String file = c[1] + "-" + c[2];
        Path local = Paths.get(args[2], folder);
        Files.createDirectories(local);
        for (String ext : new String[] {"pom", "jar"}) {
            String url = args[0] + "/" + folder + "/" + file + "." + ext;
            byte[] body = get(proxy, url);
            String expected = new String(get(proxy, url + ".sha1"), StandardCharsets.US_ASCII).trim().split("\\s+")[0];
            String actual = hex(MessageDigest.getInstance("SHA-1").digest(body));
            if (!actual.equalsIgnoreCase(expected)) {
                throw new IllegalStateException(url + ": sha1 " + actual + ", the repository says " + expected);
            }
            Files.write(local.resolve(file + "." + ext), body);
            System.out.println("resolved " + url + " (" + body.length + " bytes, sha1 " + actual + ")");
        }
        try (JarFile jar = new JarFile(local.resolve(file + ".jar").toFile())) {
            System.out.println("jar entries: " + jar.size());
        }
    }

    private static byte[] get(URI proxy, String url) throws IOException {
        HttpURLConnection conn = (HttpURLConnection) new URL(url).openConnection(
                new Proxy(Proxy.Type.HTTP, new InetSocketAddress(proxy.getHost(), proxy.getPort())));
        conn.setRequestProperty("Proxy-Authorization", "Basic " + Base64.getEncoder()
                .encodeToString(proxy.getRawUserInfo().getBytes(StandardCharsets.UTF_8)));
        conn.setInstanceFollowRedirects(false);
        int status = conn.getResponseCode();
        if (status != 200) {
            throw new IOException(url + ": HTTP " + status);
        }
        try (InputStream in = conn.getInputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }
}
