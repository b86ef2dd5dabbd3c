package io.buildgateway.shared.web;

import org.apache.catalina.connector.Connector;
import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.stereotype.Component;

/**
 * Tomcat answers {@code Expect: 100-continue} only when the body is first read, not on arrival: a request refused
 * early (401, 403, 413 on its declared length) then never uploads its body at all.
 */
@Component
class ContinueOnRead implements TomcatConnectorCustomizer {

    @Override
    public void customize(Connector connector) {
        connector.setProperty("continueResponseTiming", "onRead");
    }
}
