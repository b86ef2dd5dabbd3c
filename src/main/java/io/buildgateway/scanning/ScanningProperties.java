package io.buildgateway.scanning;

import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Scanning settings.
 *
 * @param workDir where image filesystems are extracted for OpenSCAP (removed after each scan)
 * @param complianceContent the XCCDF/data-stream content evaluated on every image ({@code *-xccdf.xml},
 *        {@code *-ds.xml})
 * @param complianceProfile the XCCDF profile to evaluate, or empty for the content's default
 * @param oscapCommand the oscap binary; when it cannot run, compliance is reported as not run, never as passed
 * @param complianceRequired whether an image whose compliance could not run is refused (true) or pushed with
 *        compliance "not run" recorded (false)
 */
@Validated
@ConfigurationProperties("gateway.scanning")
public record ScanningProperties(
        @NotNull Path workDir,
        @NotNull @DefaultValue("config/compliance") Path complianceContent,
        @DefaultValue("") String complianceProfile,
        @NotNull @DefaultValue("oscap") String oscapCommand,
        @NotNull @DefaultValue("120s") Duration complianceTimeout,
        @DefaultValue("false") boolean complianceRequired) {
}
