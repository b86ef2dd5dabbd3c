package io.buildgateway.hostpool;

import io.fabric8.kubernetes.api.model.Pod;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.ByteArrayResource;

/**
 * For tests outside this package (the Helm chart's): the build-host Pod the gateway would create, from a gateway
 * configuration as the chart renders it, bound exactly as Spring binds it at start-up. So the chart's NetworkPolicies
 * and its restricted-standard checks can be run against the Pods that the gateway creates at run time, which no
 * rendering contains.
 */
public final class EphemeralPods {

    private EphemeralPods() {
    }

    /**
     * The egress address the Kubernetes provider gives its hosts under {@code applicationYaml} (the forwarder on the
     * Pods' bridge), null without egress settings.
     */
    public static String egressAddress(String applicationYaml) {
        HostPoolProperties.HostEgress egress = bind(applicationYaml).ephemeral().kubernetes().egress();
        return egress == null ? null : egress.address();
    }

    private static HostPoolProperties bind(String applicationYaml) {
        StandardEnvironment env = new StandardEnvironment();
        try {
            new YamlPropertySourceLoader().load("chart", new ByteArrayResource(applicationYaml.getBytes(
                    StandardCharsets.UTF_8))).forEach(env.getPropertySources()::addFirst);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Binder.get(env).bind("gateway.hostpool", HostPoolProperties.class)
                .orElseThrow(() -> new AssertionError("no gateway.hostpool in the configuration"));
    }

    /** The Pod of ephemeral host {@code id} under {@code applicationYaml} (the chart's application.yaml). */
    public static Pod podFor(String applicationYaml, String id) {
        HostPoolProperties properties = bind(applicationYaml);
        if (properties.ephemeral() == null || !properties.ephemeral().enabled()
                || properties.ephemeral().provider() != HostPoolProperties.Provider.KUBERNETES) {
            throw new AssertionError("the configuration has no Kubernetes ephemeral hosts: " + properties.ephemeral());
        }
        // Without the owner Pod, which is looked up in the cluster when the Pod is created (the chart sets it to the
        // gateway's own Pod name; the caller asserts that on the configuration).
        HostPoolProperties.Ephemeral e = properties.ephemeral();
        HostPoolProperties.Kubernetes k = e.kubernetes();
        HostPoolProperties.Ephemeral unowned = new HostPoolProperties.Ephemeral(e.enabled(), e.provider(), e.name(),
                e.maxHosts(), e.warm(), e.startTimeout(), e.local(), new HostPoolProperties.Kubernetes(k.namespace(),
                        k.image(), k.serverTlsSecret(), k.namePrefix(), k.port(), k.clientTlsPath(), k.subdomain(),
                        null, k.serviceAccount(), k.labels(), k.nodeSelector(), k.tolerations(), k.egress(),
                        k.requests(), k.limits()));
        KubernetesEphemeralHosts hosts = new KubernetesEphemeralHosts(unowned, null, host -> null, audit -> { });
        return hosts.template(id);
    }
}
