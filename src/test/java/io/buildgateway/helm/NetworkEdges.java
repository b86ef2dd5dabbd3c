package io.buildgateway.helm;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.networking.v1.IPBlock;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which connections a set of NetworkPolicies allows, computed with Kubernetes' semantics (networking.k8s.io/v1:
 * a pod selected by no policy of a direction is open in that direction; a selected pod admits what any rule of any
 * selecting policy allows; peers are podSelector within the policy's namespace, namespaceSelector, both, or ipBlock
 * with exceptions; a rule without peers or ports means all). It is run over a fixed set of probe endpoints: the
 * release's own pods (from the rendered pod templates), a pod of another app in the same namespace, the ingress
 * controller, monitoring, cluster DNS, a pod of another namespace, and the external services at the addresses
 * values-test.yaml gives, plus one on the internet. Only edges touching a release pod are reported.
 */
final class NetworkEdges {

    private NetworkEdges() {
    }

    record Endpoint(String name, String namespace, Map<String, String> labels, String ip, boolean release) {
        boolean isPod() {
            return namespace != null;
        }
    }

    static final List<String> PORTS = List.of("TCP/8080", "TCP/2376", "TCP/5432", "TCP/443", "TCP/3128", "TCP/587",
            "TCP/6443", "TCP/53", "UDP/53", "TCP/22", "TCP/80");

    private static String releaseNamespace;

    static synchronized Set<String> allowed(List<NetworkPolicy> policies, String namespace,
            List<PodTemplateSpec> releasePods) {
        releaseNamespace = namespace;
        List<Endpoint> endpoints = new ArrayList<>();
        int ip = 10;
        for (PodTemplateSpec t : releasePods) {
            Map<String, String> labels = t.getMetadata().getLabels();
            endpoints.add(new Endpoint(labels.get("app.kubernetes.io/component"), namespace, labels,
                    "10.244.0." + ip++, true));
        }
        endpoints.add(new Endpoint("other-app", namespace, Map.of("app", "other"), "10.244.0.2", false));
        endpoints.add(new Endpoint("api-client", "ingress-nginx", Map.of("app", "ingress-nginx"), "10.244.1.2",
                false));
        endpoints.add(new Endpoint("monitoring", "monitoring", Map.of("app", "prometheus"), "10.244.2.2", false));
        endpoints.add(new Endpoint("dns", "kube-system", Map.of("k8s-app", "kube-dns"), "10.244.3.2", false));
        endpoints.add(new Endpoint("stranger", "default", Map.of("app", "x"), "10.244.4.2", false));
        for (String[] ext : new String[][] {{"registry", "10.20.0.10"}, {"egress-proxy", "10.20.0.20"},
                {"database", "10.20.0.30"}, {"idp", "10.20.0.40"}, {"smtp", "10.20.0.50"},
                {"webhooks", "10.20.0.60"}, {"api-server", "10.20.0.70"}, {"mirrors", "10.20.0.80"},
                {"internet", "93.184.216.34"}}) {
            endpoints.add(new Endpoint(ext[0], null, Map.of(), ext[1], false));
        }
        Set<String> edges = new TreeSet<>();
        for (Endpoint src : endpoints) {
            if (!src.isPod()) {
                continue;
            }
            for (Endpoint dst : endpoints) {
                // src == dst stands for two pods of one component (two gateway replicas): an edge when allowed.
                if (!(src.release() || dst.release())) {
                    continue;
                }
                for (String port : PORTS) {
                    if (egressAllows(policies, src, dst, port) && ingressAllows(policies, src, dst, port)) {
                        edges.add(src.name() + " -> " + dst.name() + " " + port);
                    }
                }
            }
        }
        return edges;
    }

    /** Policies that select this pod for the direction. Rendered policies live in the release's namespace. */
    private static List<NetworkPolicy> selecting(List<NetworkPolicy> policies, Endpoint pod, String type) {
        return policies.stream()
                .filter(p -> pod.namespace().equals(p.getMetadata().getNamespace() == null ? releaseNamespace
                        : p.getMetadata().getNamespace()))
                .filter(p -> matches(p.getSpec().getPodSelector(), pod.labels()))
                .filter(p -> types(p).contains(type)).toList();
    }

    private static Set<String> types(NetworkPolicy p) {
        if (p.getSpec().getPolicyTypes() != null && !p.getSpec().getPolicyTypes().isEmpty()) {
            return Set.copyOf(p.getSpec().getPolicyTypes());
        }
        return p.getSpec().getEgress() != null && !p.getSpec().getEgress().isEmpty() ? Set.of("Ingress", "Egress")
                : Set.of("Ingress");
    }

    private static boolean egressAllows(List<NetworkPolicy> policies, Endpoint src, Endpoint dst, String port) {
        List<NetworkPolicy> selecting = selecting(policies, src, "Egress");
        if (selecting.isEmpty()) {
            return true;
        }
        return selecting.stream().flatMap(p -> p.getSpec().getEgress() == null ? java.util.stream.Stream.empty()
                        : p.getSpec().getEgress().stream().map(r -> Map.entry(p, r)))
                .anyMatch(e -> portMatches(e.getValue().getPorts(), port)
                        && peersMatch(e.getValue().getTo(), releaseNamespace, dst));
    }

    private static boolean ingressAllows(List<NetworkPolicy> policies, Endpoint src, Endpoint dst, String port) {
        if (!dst.isPod()) {
            return true;
        }
        List<NetworkPolicy> selecting = selecting(policies, dst, "Ingress");
        if (selecting.isEmpty()) {
            return true;
        }
        return selecting.stream().flatMap(p -> p.getSpec().getIngress() == null ? java.util.stream.Stream.empty()
                        : p.getSpec().getIngress().stream())
                .anyMatch(r -> portMatches(r.getPorts(), port) && peersMatch(r.getFrom(), releaseNamespace, src));
    }

    private static boolean peersMatch(List<NetworkPolicyPeer> peers, String policyNamespace, Endpoint other) {
        if (peers == null || peers.isEmpty()) {
            return true;
        }
        for (NetworkPolicyPeer peer : peers) {
            if (peer.getIpBlock() != null) {
                if (inBlock(peer.getIpBlock(), other.ip())) {
                    return true;
                }
                continue;
            }
            if (!other.isPod()) {
                continue;
            }
            boolean namespaceOk = peer.getNamespaceSelector() == null ? other.namespace().equals(policyNamespace)
                    : matches(peer.getNamespaceSelector(), Map.of("kubernetes.io/metadata.name", other.namespace()));
            boolean podOk = peer.getPodSelector() == null || matches(peer.getPodSelector(), other.labels());
            if (namespaceOk && podOk) {
                return true;
            }
        }
        return false;
    }

    private static boolean portMatches(List<NetworkPolicyPort> ports, String probe) {
        if (ports == null || ports.isEmpty()) {
            return true;
        }
        String protocol = probe.substring(0, probe.indexOf('/'));
        int number = Integer.parseInt(probe.substring(probe.indexOf('/') + 1));
        for (NetworkPolicyPort p : ports) {
            String proto = p.getProtocol() == null ? "TCP" : p.getProtocol();
            if (!proto.equals(protocol)) {
                continue;
            }
            IntOrString port = p.getPort();
            if (port == null) {
                return true;
            }
            if (port.getIntVal() == null) {
                throw new AssertionError("named port " + port.getStrVal() + ": give numbers in NetworkPolicies");
            }
            int end = p.getEndPort() == null ? port.getIntVal() : p.getEndPort();
            if (number >= port.getIntVal() && number <= end) {
                return true;
            }
        }
        return false;
    }

    static boolean matches(LabelSelector selector, Map<String, String> labels) {
        if (selector == null) {
            return true;
        }
        if (selector.getMatchLabels() != null) {
            for (var e : selector.getMatchLabels().entrySet()) {
                if (!e.getValue().equals(labels.get(e.getKey()))) {
                    return false;
                }
            }
        }
        if (selector.getMatchExpressions() != null) {
            for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
                String value = labels.get(r.getKey());
                boolean ok = switch (r.getOperator()) {
                    case "In" -> value != null && r.getValues().contains(value);
                    case "NotIn" -> value == null || !r.getValues().contains(value);
                    case "Exists" -> value != null;
                    case "DoesNotExist" -> value == null;
                    default -> throw new AssertionError("unknown operator " + r.getOperator());
                };
                if (!ok) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean inBlock(IPBlock block, String ip) {
        if (!inCidr(block.getCidr(), ip)) {
            return false;
        }
        return block.getExcept() == null || block.getExcept().stream().noneMatch(c -> inCidr(c, ip));
    }

    private static boolean inCidr(String cidr, String ip) {
        try {
            String[] parts = cidr.split("/");
            byte[] net = InetAddress.getByName(parts[0]).getAddress();
            byte[] addr = InetAddress.getByName(ip).getAddress();
            if (net.length != addr.length) {
                return false;
            }
            int bits = Integer.parseInt(parts[1]);
            int total = net.length * 8;
            BigInteger mask = BigInteger.ONE.shiftLeft(total).subtract(BigInteger.ONE)
                    .xor(BigInteger.ONE.shiftLeft(total - bits).subtract(BigInteger.ONE));
            return new BigInteger(1, net).and(mask).equals(new BigInteger(1, addr).and(mask));
        } catch (UnknownHostException e) {
            throw new AssertionError("not an address: " + cidr, e);
        }
    }
}
