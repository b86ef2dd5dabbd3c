package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.hostpool.HostStatus;
import java.util.List;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /api/v1/hosts}: the pool with the active builds per host from the queue. */
@RestController
@RequestMapping("/api/v1")
class HostController {

    private final BuildHosts hosts;
    private final BuildDispatcher dispatcher;

    HostController(BuildHosts hosts, BuildDispatcher dispatcher) {
        this.hosts = hosts;
        this.dispatcher = dispatcher;
    }

    @GetMapping("/hosts")
    @PreAuthorize("hasRole('ADMIN') or hasRole('SECURITY') or hasRole('AUDITOR')") // API.md: AUDITOR reads everything
    List<HostStatus> hosts() {
        return hosts.status(dispatcher.activeByHost());
    }
}
