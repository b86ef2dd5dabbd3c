package io.buildgateway.shared.web;

import io.micrometer.core.instrument.MeterRegistry;
import org.apache.catalina.Container;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.Pipeline;
import org.apache.catalina.Valve;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.boot.tomcat.TomcatContextCustomizer;
import org.springframework.stereotype.Component;

/**
 * Installs {@link ProblemErrorReportValve} as the host's error report, in place of Tomcat's (and Spring Boot's copy
 * of it). Done just before the context starts, after every customizer has run, so no other error report valve is
 * left in front of it to write HTML first. In front of it goes {@link UnreadBodyValve}, which sees every answer
 * complete (error pages included) and bounds the threads that refused requests' unread bodies hold.
 */
@Component
class TomcatRefusals implements TomcatContextCustomizer {

    private final ProblemResponses problems;
    private final UnreadBodyProperties unreadBodies;
    private final MeterRegistry meters;

    TomcatRefusals(ProblemResponses problems, UnreadBodyProperties unreadBodies, MeterRegistry meters) {
        this.problems = problems;
        this.unreadBodies = unreadBodies;
        this.meters = meters;
    }

    @Override
    public void customize(org.apache.catalina.Context context) {
        context.addLifecycleListener(event -> {
            if (Lifecycle.BEFORE_START_EVENT.equals(event.getType())) {
                install(context.getParent());
            }
        });
    }

    private void install(Container host) {
        if (host == null) {
            return;
        }
        Pipeline pipeline = host.getPipeline();
        for (Valve v : pipeline.getValves()) {
            if (v instanceof ProblemErrorReportValve) {
                return;
            }
            if (v instanceof ErrorReportValve) {
                pipeline.removeValve(v);
            }
        }
        pipeline.addValve(new UnreadBodyValve(unreadBodies, meters));
        pipeline.addValve(new ProblemErrorReportValve(problems));
    }
}
