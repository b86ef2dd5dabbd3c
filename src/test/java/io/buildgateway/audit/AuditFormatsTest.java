package io.buildgateway.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.buildgateway.signing.GatewayKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The trail's formats as pure functions: canonical events, checkpoints and their file, syslog messages. */
class AuditFormatsTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static AuditEvent event(long seq, String details) {
        return new AuditEvent(seq, Instant.parse("2026-03-01T10:15:30.123456Z"), "ci \"payments\"", "token.issued",
                "token/1", "SUCCESS", "10.0.0.7", "req-\u0001", details, "ab".repeat(32), AuditChain.GENESIS);
    }

    @Test
    void theCanonicalFormIsTheSortedMapFormTheChainWasDocumentedWith() {
        AuditEvent e = event(42, CanonicalJson.write(Map.of("name", "x\ny", "roles", List.of("ADMIN"))));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", e.seq());
        m.put("at", e.at().toString());
        m.put("actor", e.actor());
        m.put("action", e.action());
        m.put("target", e.target());
        m.put("outcome", e.outcome());
        m.put("sourceIp", e.sourceIp());
        m.put("requestId", e.requestId());
        m.put("details", e.details());

        assertThat(e.canonical()).isEqualTo(CanonicalJson.write(m));
        AuditEvent nulls = new AuditEvent(1, e.at(), "system", "a", null, "SUCCESS", null, null, "{}", null, null);
        m.clear();
        m.put("seq", 1L);
        m.put("at", e.at().toString());
        m.put("actor", "system");
        m.put("action", "a");
        m.put("target", null);
        m.put("outcome", "SUCCESS");
        m.put("sourceIp", null);
        m.put("requestId", null);
        m.put("details", "{}");
        assertThat(nulls.canonical()).isEqualTo(CanonicalJson.write(m));
    }

    @Test
    void theByteLevelHashEqualsTheHashOfTheDocumentedStrings() {
        java.util.Random random = new java.util.Random(6);
        String[] alphabet = {"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u0000", "\u001f", "\u007f", "\u00e9",
            "\u20ac", "\ud83d\ude00", "\ud800", "\udfff", "{", "}", "?"};
        for (int i = 0; i < 5000; i++) {
            String[] f = new String[6];
            for (int k = 0; k < f.length; k++) {
                StringBuilder b = new StringBuilder();
                int n = random.nextInt(12);
                for (int j = 0; j < n; j++) {
                    b.append(alphabet[random.nextInt(alphabet.length)]);
                }
                f[k] = random.nextInt(8) == 0 ? null : b.toString();
            }
            // instants with 0, 3, 6 and 9 fraction digits, across years 0001 to 9999 and beyond
            long seconds = random.nextLong(-62_135_596_800L, 253_402_300_799L + 10_000_000_000L);
            int nano = switch (random.nextInt(4)) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1000;
                default -> random.nextInt(1_000_000_000);
            };
            AuditEvent e = new AuditEvent(random.nextLong(), Instant.ofEpochSecond(seconds, nano), f[0] == null ? "x"
                    : f[0], f[1] == null ? "y" : f[1], f[2], "SUCCESS", f[3], f[4], f[5] == null ? "{}" : f[5], null,
                    null);
            String prev = random.nextBoolean() ? AuditChain.GENESIS : f[0] == null ? "" : f[0];
            assertThat(AuditChain.hash(prev, e)).as(e.toString()).isEqualTo(AuditChain.hashOfStrings(prev, e));
            // the bytes path of verification, on the event as stored (microseconds, a hex prevHash)
            AuditEvent stored = new AuditEvent(e.seq(), e.at().truncatedTo(java.time.temporal.ChronoUnit.MICROS),
                    e.actor(), e.action(), e.target(), e.outcome(), e.sourceIp(), e.requestId(), e.details(), null,
                    AuditChain.GENESIS.replace('0', 'c'));
            String hash = AuditChain.hashOfStrings(stored.prevHash(), stored);
            AuditEvent hashed = new AuditEvent(stored.seq(), stored.at(), stored.actor(), stored.action(),
                    stored.target(), stored.outcome(), stored.sourceIp(), stored.requestId(), stored.details(), hash,
                    stored.prevHash());
            assertThat(AuditChain.hashMatches(RawEvent.of(hashed))).as(e.toString()).isTrue();
            assertThat(RawEvent.of(hashed).at()).isEqualTo(stored.at());
        }
    }

    @Test
    void theParallelVerifierFindsWhatTheSequentialOneFinds() {
        java.util.Random random = new java.util.Random(7);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            for (int round = 0; round < 300; round++) {
                List<AuditEvent> chain = new java.util.ArrayList<>();
                String prev = AuditChain.GENESIS;
                int n = 1 + random.nextInt(60);
                for (int i = 1; i <= n; i++) {
                    AuditEvent e = event(i, "{\"i\":" + i + "}");
                    e = new AuditEvent(i, e.at(), e.actor(), e.action(), e.target(), e.outcome(), e.sourceIp(),
                            e.requestId(), e.details(), null, prev);
                    prev = AuditChain.hash(prev, e);
                    chain.add(new AuditEvent(i, e.at(), e.actor(), e.action(), e.target(), e.outcome(),
                            e.sourceIp(), e.requestId(), e.details(), prev, e.prevHash()));
                }
                int k = random.nextInt(n);
                AuditEvent t = chain.get(k);
                switch (random.nextInt(6)) {
                    case 0 -> chain.set(k, new AuditEvent(t.seq(), t.at(), "mallory", t.action(), t.target(),
                            t.outcome(), t.sourceIp(), t.requestId(), t.details(), t.hash(), t.prevHash()));
                    case 1 -> chain.remove(k);
                    case 2 -> chain.set(k, new AuditEvent(t.seq(), t.at(), t.actor(), t.action(), t.target(),
                            t.outcome(), t.sourceIp(), t.requestId(), t.details(), "0".repeat(64), t.prevHash()));
                    case 3 -> chain.set(k, new AuditEvent(t.seq(), t.at(), t.actor(), t.action(), t.target(),
                            t.outcome(), t.sourceIp(), t.requestId(), t.details(), t.hash(), "1".repeat(64)));
                    case 4 -> chain.subList(k, chain.size()).clear();
                    default -> { } // intact
                }
                AuditChain.Verifier sequential = new AuditChain.Verifier();
                AuditChain.ParallelVerifier parallel = new AuditChain.ParallelVerifier(pool, 1 + random.nextInt(5),
                        1 + random.nextInt(4));
                chain.forEach(sequential::accept);
                chain.forEach(e -> parallel.accept(RawEvent.of(e)));
                parallel.finish();
                assertThat(parallel.valid()).isEqualTo(sequential.valid());
                assertThat(parallel.firstBrokenSeq()).isEqualTo(sequential.firstBrokenSeq());
                assertThat(parallel.reason()).isEqualTo(sequential.reason());
                assertThat(parallel.head()).isEqualTo(sequential.head());
                assertThat(parallel.events()).isEqualTo(sequential.events());
                assertThat(parallel.lastSeq()).isEqualTo(sequential.lastSeq());

                // the same chain read in ranges of seqs by several verifiers (as several connections read it)
                int readers = 1 + random.nextInt(4);
                long size = Math.max(1, (n + readers - 1) / readers);
                List<AuditChain.Part> parts = new java.util.ArrayList<>();
                for (long from = 1; from <= n; from += size) {
                    long to = from + size > n ? Long.MAX_VALUE : from + size - 1;
                    AuditChain.ParallelVerifier v = from == 1 ? new AuditChain.ParallelVerifier(pool, 2, 2)
                            : new AuditChain.ParallelVerifier(pool, 2, 2, from, null);
                    long lo = from;
                    chain.stream().filter(e -> e.seq() >= lo && e.seq() <= to).forEach(e -> v.accept(RawEvent.of(e)));
                    parts.add(new AuditChain.Part(from, to, v.finish()));
                }
                AuditChain.Result combined = AuditChain.combine(parts);
                String as = "round " + round + ", " + parts.size() + " parts";
                assertThat(combined.valid()).as(as).isEqualTo(sequential.valid());
                assertThat(combined.firstBrokenSeq()).as(as).isEqualTo(sequential.firstBrokenSeq());
                assertThat(combined.reason()).as(as).isEqualTo(sequential.reason());
                assertThat(combined.head()).as(as).isEqualTo(sequential.head());
                assertThat(combined.events()).as(as).isEqualTo(sequential.events());
                assertThat(combined.lastSeq()).as(as).isEqualTo(sequential.lastSeq());
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void anExportedLineCarriesTheStoredDetailsVerbatimAndEveryField() {
        String details = CanonicalJson.write(Map.of("b", 1, "a", "\u00e9\t"));
        JsonNode line = JSON.readTree(SyslogFormat.jsonLine(event(7, details)));

        assertThat(line.path("seq").asLong()).isEqualTo(7);
        assertThat(line.path("requestId").asString()).isEqualTo("req-\u0001");
        assertThat(line.path("details").isObject()).isTrue();
        assertThat(SyslogFormat.jsonLine(event(7, details))).contains("\"details\":" + details + ",");
        assertThat(JSON.readTree(SyslogFormat.jsonLine(event(7, "not json"))).path("details").asString())
                .isEqualTo("not json");
    }

    @Test
    void aSyslogMessageIsRfc5424WithOctetCounting() {
        String msg = SyslogFormat.message(13, SyslogFormat.severity("DENIED"), Instant.parse(
                "2026-03-01T10:15:30.123456Z"), "gw 1", "build-gateway", "99", "audit", "{\"\u00e9\":1}");

        assertThat(msg).isEqualTo("<108>1 2026-03-01T10:15:30.123456Z gw_1 build-gateway 99 audit - {\"\u00e9\":1}");
        byte[] frame = SyslogFormat.frame(msg);
        int octets = msg.getBytes(StandardCharsets.UTF_8).length;
        assertThat(new String(frame, StandardCharsets.UTF_8)).isEqualTo(octets + " " + msg);
        assertThat(octets).isGreaterThan(msg.length()); // counted in octets, not characters
        assertThat(SyslogFormat.severity("SUCCESS")).isEqualTo(6);
        assertThat(SyslogFormat.severity("REJECTED")).isEqualTo(5);
        assertThat(SyslogFormat.field("", 10)).isEqualTo("-");
        assertThat(SyslogFormat.field("x".repeat(60), 48)).hasSize(48);
    }

    @Test
    void aCheckpointVerifiesWithTheGatewayKeyAndNotWhenAnythingChanges() {
        GatewayKey key = GatewayKey.generate();
        Checkpoint cp = Checkpoint.sign(1234, "cd".repeat(32), Instant.parse("2026-03-01T10:15:30.1234567Z"), key);

        Checkpoint read = Checkpoint.parseLine(cp.line());
        assertThat(read).isEqualTo(cp);
        assertThat(read.at()).isEqualTo(Instant.parse("2026-03-01T10:15:30.123456Z"));
        assertThat(read.signedBy(key.publicKey())).isTrue();
        assertThat(read.signedBy(GatewayKey.generate().publicKey())).isFalse();

        // the signature flipped in one byte; the payload's seq changed; a signature that is not base64
        byte[] sig = Base64.getDecoder().decode(cp.signature());
        sig[sig.length - 1] ^= 1;
        assertThat(Checkpoint.of(cp.payload(), Base64.getEncoder().encodeToString(sig)).signedBy(key.publicKey()))
                .isFalse();
        assertThat(Checkpoint.of(cp.payload().replace("1234", "1233"), cp.signature()).signedBy(key.publicKey()))
                .isFalse();
        assertThat(Checkpoint.of(cp.payload(), "%%%").signedBy(key.publicKey())).isFalse();
        // the readable outer fields are not what is trusted
        String forgedOuter = cp.line().replace("\"seq\":1234", "\"seq\":9999");
        assertThat(Checkpoint.parseLine(forgedOuter).seq()).isEqualTo(1234);
        assertThatThrownBy(() -> Checkpoint.parseLine("{\"payload\":\"{}\",\"signature\":\"\"}"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Checkpoint.parseLine("garbage")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theCheckpointFileIgnoresALineCutShort(@TempDir Path dir) throws IOException {
        CheckpointFile file = new CheckpointFile(dir.resolve("sub").resolve("checkpoints.jsonl"));
        assertThat(file.last()).isNull();
        file.append("{\"n\":1}");
        file.append("{\"n\":2}");
        assertThat(file.last()).isEqualTo("{\"n\":2}");

        Files.writeString(file.path(), "{\"n\":3", java.nio.file.StandardOpenOption.APPEND);
        assertThat(file.last()).isEqualTo("{\"n\":2}");
        List<String> lines = new java.util.ArrayList<>();
        file.forEach((n, text) -> lines.add(n + ":" + text));
        assertThat(lines).containsExactly("1:{\"n\":1}", "2:{\"n\":2}");

        CheckpointFile big = new CheckpointFile(dir.resolve("big.jsonl"));
        String longLine = "{\"x\":\"" + "y".repeat(20_000) + "\"}";
        big.append("{\"n\":1}");
        big.append(longLine);
        assertThat(big.last()).isEqualTo(longLine);
    }

    /** docs/audit.md's offline check, run with the real openssl when the machine has it. */
    @Test
    void aCheckpointVerifiesOfflineWithOpenssl(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed");
        GatewayKey key = GatewayKey.generate();
        Checkpoint cp = Checkpoint.sign(77, "ef".repeat(32), Instant.now(), key);
        Files.writeString(dir.resolve("gateway.pub"), key.publicKeyPem());
        Files.writeString(dir.resolve("checkpoint.json"), cp.payload());
        Files.write(dir.resolve("checkpoint.sig"), Base64.getDecoder().decode(cp.signature()));

        assertThat(openssl(dir)).contains("Verified OK");
        Files.writeString(dir.resolve("checkpoint.json"), cp.payload().replace("\"seq\":77", "\"seq\":78"));
        assertThat(openssl(dir)).contains("Verification failure");
    }

    private static String openssl(Path dir) throws Exception {
        Process p = new ProcessBuilder("/usr/bin/openssl", "dgst", "-sha256", "-verify", "gateway.pub", "-signature",
                "checkpoint.sig", "checkpoint.json").directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }
}
