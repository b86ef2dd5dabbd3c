package io.buildgateway.hostpool;

import io.buildgateway.shared.AuditRecord;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Ephemeral hosts in Kubernetes: a build-host Pod (the image of Dockerfile.buildhost: dockerd 26 with
 * {@code --userns-remap}, mutual TLS) per build, created through the fabric8 client from the template below, waited
 * for until Ready, used over TLS with the gateway's client certificate, and deleted after the build. The Pod is the
 * only privileged one the gateway creates; it runs on the dedicated, tainted build-host nodes (node selector and
 * toleration), carries the build-host labels the NetworkPolicies select (only the gateway reaches it, it reaches
 * only the registry and the egress proxy), mounts its server certificate from a Secret named by reference (the
 * gateway never reads it), and is owned by the gateway's own Pod when {@code owner-pod} is set, so that Kubernetes
 * collects it if the gateway dies first.
 *
 * <p>Verified against fabric8's mock API server in CRUD mode only ({@code KubernetesEphemeralHostsTest}): no API
 * server or kubelet runs where this was written (docs/operations.md says so too).
 */
final class KubernetesEphemeralHosts extends EphemeralHosts {

    static final String ID_LABEL = "build-gateway.io/ephemeral-host";
    static final String POOL_LABEL = "build-gateway.io/ephemeral-pool";
    /** How often a start or a delete reads its Pod. */
    static final Duration POLL = Duration.ofMillis(250);

    private final KubernetesClient client;
    private final HostPoolProperties.Kubernetes k8s;
    private final String namespace;
    private final String pool;

    KubernetesEphemeralHosts(HostPoolProperties.Ephemeral config, KubernetesClient client, Verifier verifier,
            Consumer<AuditRecord> audit) {
        super(config, verifier, audit);
        this.k8s = config.kubernetes();
        if (k8s.image() == null || k8s.image().isBlank()) {
            throw new IllegalStateException("gateway.hostpool.ephemeral.kubernetes.image must name the build host"
                    + " image (Dockerfile.buildhost), by digest");
        }
        if (k8s.serverTlsSecret() == null || k8s.serverTlsSecret().isBlank()) {
            throw new IllegalStateException("gateway.hostpool.ephemeral.kubernetes.server-tls-secret must name the"
                    + " Secret with the build hosts' server certificate (mutual TLS)");
        }
        this.client = client;
        this.namespace = k8s.namespace() != null && !k8s.namespace().isBlank() ? k8s.namespace()
                : client.getNamespace() != null ? client.getNamespace() : "default";
        this.pool = config.name();
    }

    @Override
    protected String kind() {
        return "kubernetes";
    }

    String podName(String id) {
        return k8s.namePrefix() + "-" + id;
    }

    /** The Pod of host {@code id}: the build-host template. */
    Pod template(String id) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("app.kubernetes.io/name", "build-gateway");
        labels.put("app.kubernetes.io/component", "buildhost");
        labels.putAll(k8s.labels());
        labels.put(ID_LABEL, id);
        labels.put(POOL_LABEL, pool);
        List<Toleration> tolerations = k8s.tolerations().stream().map(t -> new TolerationBuilder().withKey(t.key())
                .withOperator(t.operator()).withValue(t.value()).withEffect(t.effect()).build()).toList();
        PodBuilder pod = new PodBuilder()
                .withNewMetadata().withName(podName(id)).withNamespace(namespace).withLabels(labels)
                .addToAnnotations("build-gateway.io/privileged",
                        "true: dockerd with userns-remap; dedicated tainted nodes only; one build, then deleted")
                .endMetadata()
                .withNewSpec()
                .withRestartPolicy("Never")
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withServiceAccountName(k8s.serviceAccount())
                .withHostname(k8s.subdomain() == null ? null : podName(id))
                .withSubdomain(k8s.subdomain())
                .withNodeSelector(k8s.nodeSelector().isEmpty() ? null : k8s.nodeSelector())
                .withTolerations(tolerations)
                .withTerminationGracePeriodSeconds(30L)
                .withNewSecurityContext().withNewSeccompProfile().withType("Unconfined").endSeccompProfile()
                .endSecurityContext()
                .addNewContainer()
                .withName("dockerd")
                .withImage(k8s.image())
                .withImagePullPolicy("IfNotPresent")
                .withEnv(egressEnv())
                .withNewSecurityContext().withPrivileged(true).withRunAsUser(0L).withReadOnlyRootFilesystem(true)
                .endSecurityContext()
                .addNewPort().withName("docker-tls").withContainerPort(k8s.port()).withProtocol("TCP").endPort()
                .withNewResources().withRequests(quantities(k8s.requests())).withLimits(quantities(k8s.limits()))
                .endResources()
                .withNewReadinessProbe().withNewTcpSocket().withNewPort(k8s.port()).endTcpSocket()
                .withPeriodSeconds(1).endReadinessProbe()
                .addNewVolumeMount().withName("docker-data").withMountPath("/var/lib/build-host").endVolumeMount()
                // All of /run, as the chart's fixed hosts: the containerd dockerd starts creates /run/containerd,
                // and the entrypoint /run/build-host-egress, which a read-only root refuses (a review's finding,
                // 2026-12-07: only /run/build-host was writable, so no ephemeral host ever became ready).
                .addNewVolumeMount().withName("exec-root").withMountPath("/run").endVolumeMount()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
                .addNewVolumeMount().withName("tls").withMountPath("/etc/build-host/tls").withReadOnly(true)
                .endVolumeMount()
                .endContainer()
                // The data root lives and dies with the Pod: nothing persists into the next build's host.
                .addNewVolume().withName("docker-data").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("exec-root").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("tls").withNewSecret().withSecretName(k8s.serverTlsSecret())
                .withDefaultMode(0400).endSecret().endVolume()
                .endSpec();
        if (k8s.ownerPod() != null && !k8s.ownerPod().isBlank()) {
            Pod owner = client.pods().inNamespace(namespace).withName(k8s.ownerPod()).get();
            if (owner != null) {
                pod.editMetadata().addToOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1")
                        .withKind("Pod").withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid())
                        .withBlockOwnerDeletion(false).withController(false).build()).endMetadata();
            }
        }
        return pod.build();
    }

    private static Map<String, io.fabric8.kubernetes.api.model.Quantity> quantities(Map<String, String> values) {
        Map<String, io.fabric8.kubernetes.api.model.Quantity> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, new io.fabric8.kubernetes.api.model.Quantity(v)));
        return out.isEmpty() ? null : out;
    }

    /**
     * The egress path's environment (buildhost/entrypoint.sh), as the chart gives its fixed build hosts: a bridge
     * with a forwarder to the gateway's egress proxy; a Pod whose rules cannot be installed exits before dockerd
     * starts, so it never becomes Ready. Empty without egress settings (the daemon's bridge stays none).
     */
    private List<EnvVar> egressEnv() {
        HostPoolProperties.HostEgress egress = k8s.egress();
        if (egress == null) {
            return List.of();
        }
        return List.of(new EnvVar("BGW_EGRESS_PROXY", egress.proxy(), null),
                new EnvVar("BGW_EGRESS_BRIDGE", egress.bridge(), null),
                new EnvVar("BGW_EGRESS_PORT", Integer.toString(egress.port()), null));
    }

    static boolean ready(Pod p) {
        if (p == null || p.getStatus() == null || p.getStatus().getConditions() == null) {
            return false;
        }
        return p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType())
                && "True".equals(c.getStatus())) && p.getStatus().getPodIP() != null;
    }

    static boolean ended(Pod p) {
        return p != null && p.getStatus() != null
                && ("Failed".equals(p.getStatus().getPhase()) || "Succeeded".equals(p.getStatus().getPhase()));
    }

    @Override
    protected Started start(String id, Duration timeout) throws Exception {
        client.pods().inNamespace(namespace).resource(template(id)).create();
        Pod ready = awaitPod(id, p -> p != null && (ready(p) || ended(p)), timeout);
        if (ready == null || !ended(ready) && !ready(ready)) {
            throw new IllegalStateException("build host Pod " + podName(id) + " was not ready within " + timeout);
        }
        if (!ready(ready)) {
            throw new IllegalStateException("build host Pod " + podName(id) + " ended before it was ready: "
                    + (ready.getStatus() == null ? "no status" : ready.getStatus().getPhase()));
        }
        String address = k8s.subdomain() != null && !k8s.subdomain().isBlank()
                ? podName(id) + "." + k8s.subdomain() + "." + namespace + ".svc"
                : ready.getStatus().getPodIP();
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("pod", podName(id));
        facts.put("podUid", ready.getMetadata().getUid());
        if (ready.getSpec().getNodeName() != null) {
            facts.put("node", ready.getSpec().getNodeName());
        }
        return new Started(new HostPoolProperties.Host(id, "tcp://" + address + ":" + k8s.port(), 1,
                k8s.clientTlsPath(), HostPoolProperties.Builder.BUILDKIT,
                k8s.egress() == null ? null : k8s.egress().address(), null, null), facts);
    }

    @Override
    protected List<String> destroy(String id) throws Exception {
        client.pods().inNamespace(namespace).withName(podName(id)).withGracePeriod(10).delete();
        return awaitPod(id, Objects::isNull, Duration.ofMinutes(2)) == null ? List.of()
                : List.of("Pod " + podName(id) + " still exists");
    }

    /**
     * Reads the Pod every {@link #POLL} until the condition holds or the timeout passes; returns the last Pod read
     * (null when there is none), whether the condition held or not: the caller tells which. Polling rather than
     * fabric8's informer-based {@code waitUntilCondition}: no watch per wait, which costs a real API server more
     * than a GET every 250 ms, and whose close with an event in flight stalled the mock server's event loop for
     * up to a minute in the unit tests.
     */
    private Pod awaitPod(String id, Predicate<Pod> condition, Duration timeout)
            throws InterruptedException {
        var resource = client.pods().inNamespace(namespace).withName(podName(id));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Pod p = resource.get();
            if (condition.test(p) || System.nanoTime() >= deadline) {
                return p;
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    @Override
    protected List<String> orphans() {
        // Only this pool's Pods that no live gateway owns any more: with an owner Pod, Kubernetes collects them
        // itself; without one, every Pod of the pool is this gateway's (one gateway per pool name).
        if (k8s.ownerPod() != null && !k8s.ownerPod().isBlank()) {
            return List.of();
        }
        return client.pods().inNamespace(namespace).withLabel(POOL_LABEL, pool).list().getItems().stream()
                .map(p -> p.getMetadata().getLabels().get(ID_LABEL)).filter(Objects::nonNull).toList();
    }

}
