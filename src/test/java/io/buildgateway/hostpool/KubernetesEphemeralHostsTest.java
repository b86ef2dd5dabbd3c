package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.shared.AuditRecord;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes provider of ephemeral build hosts against fabric8's mock API server in CRUD mode: it stores and
 * serves the objects it is sent, but no scheduler or kubelet runs, so this test plays the kubelet (marks a new Pod
 * Ready with an IP, or Failed) and the daemon check is a stub. What is verified is the provider's conversation with
 * the API: the Pod template, waiting for readiness, deletion after the build, the warm pool, a Pod that fails. Not
 * verified: that a real cluster schedules and runs the Pod (docs/operations.md says so).
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesEphemeralHostsTest {

    static KubernetesClient client;

    private static final String NS = "builds";
    private final List<AuditRecord> audit = new CopyOnWriteArrayList<>();
    private volatile boolean failAll;
    private volatile boolean neverReady;
    private Duration startTimeout = Duration.ofSeconds(20);
    private final Set<String> verified = ConcurrentHashMap.newKeySet();
    private Thread kubelet;
    private KubernetesEphemeralHosts pool;

    private HostPoolProperties.Ephemeral config(int warm, HostPoolProperties.HostEgress egress) {
        return config(warm, egress, startTimeout);
    }

    private static HostPoolProperties.Ephemeral config(int warm, HostPoolProperties.HostEgress egress,
            Duration startTimeout) {
        HostPoolProperties.Kubernetes k8s = new HostPoolProperties.Kubernetes(NS,
                "registry.corp.example/platform/build-host@sha256:" + "ab".repeat(32), "build-host-tls",
                "build-host", 2376, "/etc/build-gateway/buildhost-client", "bgw-buildhost", "gateway-0", null,
                Map.of("app.kubernetes.io/instance", "bgw"), Map.of("build-gateway/build-host", "true"),
                List.of(new HostPoolProperties.Toleration("build-gateway/build-host", "Equal", "true",
                        "NoSchedule")), egress, Map.of("cpu", "2", "memory", "4Gi"), Map.of("memory", "8Gi"));
        return new HostPoolProperties.Ephemeral(true, HostPoolProperties.Provider.KUBERNETES, "ephemeral", 2, warm,
                startTimeout, new HostPoolProperties.Local(Path.of("scripts/buildhost.sh"), null, null,
                        null, null), k8s);
    }

    @BeforeEach
    void start() {
        // The gateway's own Pod, owner of the build-host Pods (the mock server gives it its UID).
        if (client.pods().inNamespace(NS).withName("gateway-0").get() == null) {
            client.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName("gateway-0")
                    .endMetadata().build()).create();
        }
        kubelet = new Thread(this::playKubelet, "fake-kubelet");
        kubelet.setDaemon(true);
        kubelet.start();
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (pool != null) {
            pool.close();
        }
        // The fake kubelet must not outlive its test: it would mark the next test's Pods by this test's flags.
        if (kubelet != null) {
            kubelet.interrupt();
            kubelet.join(10_000);
        }
        for (Pod p : buildHostPods()) {
            client.pods().inNamespace(NS).resource(p).withGracePeriod(0).delete();
        }
    }

    /** Marks each new build-host Pod Ready with an IP (or Failed when asked), as a kubelet would. */
    private void playKubelet() {
        while (!Thread.currentThread().isInterrupted()) {
            for (Pod p : client.pods().inNamespace(NS).withLabel(KubernetesEphemeralHosts.POOL_LABEL).list()
                    .getItems()) {
                if (neverReady || p.getStatus() != null && p.getStatus().getPhase() != null) {
                    continue;
                }
                boolean fail = failAll;
                p.setStatus(fail ? new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Failed").build()
                        : new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Running")
                                .withPodIP("10.1.2." + (p.getMetadata().getName().hashCode() & 0x7f))
                                .withConditions(new PodConditionBuilder().withType("Ready").withStatus("True")
                                        .build()).build());
                try {
                    client.pods().inNamespace(NS).resource(p).updateStatus();
                } catch (RuntimeException deletedMeanwhile) {
                    // the provider deleted it first
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private KubernetesEphemeralHosts pool(int warm) {
        return pool(warm, null);
    }

    private KubernetesEphemeralHosts pool(int warm, HostPoolProperties.HostEgress egress) {
        pool = new KubernetesEphemeralHosts(config(warm, egress), client, host -> {
            verified.add(host.endpoint());
            return "daemon-of-" + host.name();
        }, audit::add);
        return pool;
    }

    private List<Pod> buildHostPods() {
        return client.pods().inNamespace(NS).withLabel(KubernetesEphemeralHosts.POOL_LABEL, "ephemeral").list()
                .getItems();
    }

    @Test
    void aBuildGetsAPodOfItsOwnFromTheTemplateWhichIsDeletedAfterwards() throws Exception {
        KubernetesEphemeralHosts hosts = pool(0);
        BuildHostProvider.Lease lease = hosts.acquire("ephemeral", "build-1");

        assertThat(lease.ephemeral()).isTrue();
        String podName = "build-host-" + lease.instance();
        assertThat(lease.host().endpoint()).isEqualTo("tcp://" + podName + ".bgw-buildhost." + NS + ".svc:2376");
        assertThat(lease.host().tlsCertPath()).isEqualTo("/etc/build-gateway/buildhost-client");
        assertThat(lease.host().builder()).isEqualTo(HostPoolProperties.Builder.BUILDKIT);
        assertThat(verified).containsExactly(lease.host().endpoint());
        assertThat(lease.daemonId()).isEqualTo("daemon-of-" + lease.instance());
        assertThat(lease.facts()).containsEntry("pod", podName).containsKey("podUid");

        Pod pod = client.pods().inNamespace(NS).withName(podName).get();
        assertThat(pod.getMetadata().getLabels()).containsEntry("app.kubernetes.io/component", "buildhost")
                .containsEntry("app.kubernetes.io/instance", "bgw")
                .containsEntry(KubernetesEphemeralHosts.ID_LABEL, lease.instance());
        assertThat(pod.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(o -> assertThat(o.getUid()).isEqualTo(client.pods().inNamespace(NS).withName("gateway-0")
                        .get().getMetadata().getUid()));
        assertThat(pod.getSpec().getRestartPolicy()).isEqualTo("Never");
        assertThat(pod.getSpec().getAutomountServiceAccountToken()).isFalse();
        assertThat(pod.getSpec().getHostname()).isEqualTo(podName);
        assertThat(pod.getSpec().getSubdomain()).isEqualTo("bgw-buildhost");
        assertThat(pod.getSpec().getNodeSelector()).containsEntry("build-gateway/build-host", "true");
        assertThat(pod.getSpec().getTolerations()).singleElement().satisfies(t -> {
            assertThat(t.getKey()).isEqualTo("build-gateway/build-host");
            assertThat(t.getEffect()).isEqualTo("NoSchedule");
        });
        Container dockerd = pod.getSpec().getContainers().get(0);
        assertThat(dockerd.getImage()).contains("@sha256:");
        assertThat(dockerd.getSecurityContext().getPrivileged()).isTrue();
        // A read-only root: all of /run is writable, as on the chart's fixed hosts (containerd makes /run/containerd,
        // the entrypoint /run/build-host-egress); the resources are the chart's buildHosts.resources.
        assertThat(dockerd.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(dockerd.getVolumeMounts()).anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/run"));
        assertThat(dockerd.getResources().getRequests()).containsEntry("cpu", new Quantity("2"))
                .containsEntry("memory", new Quantity("4Gi"));
        assertThat(dockerd.getResources().getLimits()).containsEntry("memory", new Quantity("8Gi"));
        // Without egress settings: no egress environment (the daemon's bridge stays none), no egress address.
        assertThat(dockerd.getEnv()).isEmpty();
        assertThat(lease.host().egressAddress()).isNull();
        // The server certificate by reference only: the provider never creates or reads a Secret.
        assertThat(pod.getSpec().getVolumes()).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo("tls");
            assertThat(v.getSecret().getSecretName()).isEqualTo("build-host-tls");
        });
        assertThat(client.secrets().inNamespace(NS).list().getItems()).isEmpty();
        // The daemon's data root dies with the Pod.
        assertThat(pod.getSpec().getVolumes()).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo("docker-data");
            assertThat(v.getEmptyDir()).isNotNull();
        });

        hosts.release(lease);
        eventually(() -> hosts.live().isEmpty());
        assertThat(buildHostPods()).isEmpty();
        assertThat(audit).extracting(AuditRecord::action).containsExactly("host.ephemeral-started",
                "host.ephemeral-acquired", "host.ephemeral-destroyed");

        BuildHostProvider.Lease next = hosts.acquire("ephemeral", "build-2");
        assertThat(next.instance()).isNotEqualTo(lease.instance());
        hosts.release(next);
        eventually(() -> hosts.live().isEmpty());
        assertThat(buildHostPods()).isEmpty();
    }

    @Test
    void withEgressSettingsThePodGetsTheEgressPathAndTheHostItsForwardersAddress() throws Exception {
        KubernetesEphemeralHosts hosts = pool(0, new HostPoolProperties.HostEgress(
                "bgw-build-gateway-egress.builds.svc:3128", "10.213.0.1/24", 3128));
        BuildHostProvider.Lease lease = hosts.acquire("ephemeral", "build-1");

        Container dockerd = client.pods().inNamespace(NS).withName("build-host-" + lease.instance()).get().getSpec()
                .getContainers().get(0);
        // The same environment as the chart's fixed build hosts (templates/buildhost.yaml, buildhost/entrypoint.sh).
        assertThat(dockerd.getEnv()).extracting(e -> e.getName() + "=" + e.getValue()).containsExactly(
                "BGW_EGRESS_PROXY=bgw-build-gateway-egress.builds.svc:3128", "BGW_EGRESS_BRIDGE=10.213.0.1/24",
                "BGW_EGRESS_PORT=3128");
        // Steps reach the forwarder on the bridge address: a build with egress is not refused on this host.
        assertThat(lease.host().egressAddress()).isEqualTo("10.213.0.1:3128");
        assertThat(lease.host().builder()).isEqualTo(HostPoolProperties.Builder.BUILDKIT);
        hosts.release(lease);
        eventually(() -> hosts.live().isEmpty());
    }

    @Test
    void wrongEgressSettingsAreRefusedAtStart() {
        assertThatThrownBy(() -> new HostPoolProperties.HostEgress("no-port", "10.213.0.1/24", 3128))
                .hasMessageContaining("host:port");
        assertThatThrownBy(() -> new HostPoolProperties.HostEgress("proxy:3128", "10.213.0.1/16", 3128))
                .hasMessageContaining("/24");
        assertThatThrownBy(() -> new HostPoolProperties.HostEgress("proxy:3128", "10.213.0.1/24", 2376))
                .hasMessageContaining("2376");
    }

    @Test
    void theWarmPoolHandsOutAReadyPodAndStartsTheNextOne() throws Exception {
        KubernetesEphemeralHosts hosts = pool(1);
        hosts.begin();
        eventually(() -> hosts.warmCount() == 1);
        String warm = hosts.live().iterator().next();

        BuildHostProvider.Lease lease = hosts.acquire("ephemeral", "build-1");

        assertThat(lease.instance()).isEqualTo(warm);
        eventually(() -> hosts.warmCount() == 1 && hosts.live().size() == 2);
        assertThat(buildHostPods()).hasSize(2);
        hosts.release(lease);
        eventually(() -> hosts.live().size() == 1);
        assertThat(buildHostPods()).extracting(p -> p.getMetadata().getName())
                .doesNotContain("build-host-" + warm);
        assertThat(hosts.drain(Duration.ofSeconds(20))).isTrue();
        assertThat(buildHostPods()).isEmpty();
    }

    @Test
    void aPodThatFailsBeforeItIsReadyIsDeletedAndTheBuildIsToldWhy() {
        KubernetesEphemeralHosts hosts = pool(0);
        failAll = true;
        assertThatThrownBy(() -> hosts.acquire("ephemeral", "build-1"))
                .isInstanceOf(BuildHostProvider.Unavailable.class)
                .hasMessageContaining("ended before it was ready");
        eventually(() -> hosts.live().isEmpty());
        assertThat(buildHostPods()).isEmpty();
        assertThat(hosts.healthy()).isFalse();
        assertThat(hosts.lastError()).contains("ended before it was ready");
    }

    @Test
    void aPodThatIsNeverReadyIsGivenUpAfterTheStartTimeoutAndDeleted() {
        startTimeout = Duration.ofSeconds(2);
        KubernetesEphemeralHosts hosts = pool(0);
        neverReady = true;
        assertThatThrownBy(() -> hosts.acquire("ephemeral", "build-1"))
                .isInstanceOf(BuildHostProvider.Unavailable.class)
                .hasMessageContaining("not ready within");
        eventually(() -> hosts.live().isEmpty());
        assertThat(buildHostPods()).isEmpty();
        assertThat(hosts.healthy()).isFalse();
        assertThat(hosts.lastError()).contains("not ready within");
    }

    private static void eventually(BooleanSupplier condition) {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("condition not met within 30 s");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
