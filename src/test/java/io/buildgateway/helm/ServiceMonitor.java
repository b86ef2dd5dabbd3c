package io.buildgateway.helm;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.List;
import java.util.Map;

/**
 * The Prometheus operator's ServiceMonitor (monitoring.coreos.com/v1), the fields the chart writes: fabric8's
 * monitoring model (openshift-model-monitoring) is not served from this machine's Maven registry at 8.0.0, so the
 * test carries this much of it, and refuses any other field (ignoreUnknown = false).
 */
@Group("monitoring.coreos.com")
@Version("v1")
@Kind("ServiceMonitor")
@JsonIgnoreProperties(ignoreUnknown = false)
public class ServiceMonitor extends CustomResource<ServiceMonitor.Spec, Void> implements Namespaced {

    @JsonIgnoreProperties(ignoreUnknown = false)
    public static class Spec {
        public Selector selector;
        public List<Endpoint> endpoints;
    }

    @JsonIgnoreProperties(ignoreUnknown = false)
    public static class Selector {
        public Map<String, String> matchLabels;
    }

    @JsonIgnoreProperties(ignoreUnknown = false)
    public static class Endpoint {
        public String port;
        public String path;
        public String interval;
        public SecretKeySelector bearerTokenSecret;
    }
}
