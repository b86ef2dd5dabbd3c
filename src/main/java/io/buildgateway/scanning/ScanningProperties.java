package io.buildgateway.scanning;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Scanning settings. Going over any of the {@code max-*} limits stops the scan at once (nothing more is read or
 * extracted), and the image fails with a reason that names the limit's key; so does the build's deadline passing.
 *
 * @param workDir where OpenSCAP's root filesystems are laid out (removed after each scan), next to the layer cache
 *        and the stored OpenSCAP results (one file system: the root filesystems are hard links into the cache)
 * @param complianceContent the XCCDF/data-stream content evaluated on every image ({@code *-xccdf.xml},
 *        {@code *-ds.xml})
 * @param complianceProfile the XCCDF profile to evaluate, or empty for the content's default
 * @param oscapCommand the oscap binary; when it cannot run, compliance is reported as not run, never as passed
 * @param complianceTimeout the longest one oscap run may take (the ceiling of its limit), whatever the size of the
 *        root filesystem; a run killed at its limit is run once more (docs/scanning.md, "Limits")
 * @param complianceTimeoutFloor the shortest limit of one oscap run (a root filesystem of nearly nothing)
 * @param complianceTimeoutPerGb what each GiB of regular files in the root filesystem adds to the floor
 * @param complianceRequired whether an image whose compliance could not run is refused (true) or pushed with
 *        compliance "not run" recorded (false)
 * @param maxImageSize the most bytes one scan reads from the daemon's {@code docker save} stream (every layer), and
 *        separately from its {@code docker export} stream (what is extracted for OpenSCAP)
 * @param maxFiles the most entries one scan reads across the image's layers, and separately from its exported
 *        filesystem
 * @param maxMetadataBytes the largest single package-metadata file read into memory (dpkg status, apk installed,
 *        package.json, package-lock.json, Python METADATA, os-release and passwd, a jar's pom.properties or manifest)
 * @param maxMetadataTotal the most package-metadata bytes one scan reads into memory in all
 * @param maxNesting how deep archives inside archives are read for the SBOM (1: a Spring Boot jar's
 *        {@code BOOT-INF/lib} jars; 0: no nested archive)
 * @param layerCacheSize the most bytes (of layer tars) the cache of extracted layers under {@code work-dir/layers}
 *        keeps; the least recently used layers no scan is using are removed beyond it
 * @param complianceCacheEntries the most OpenSCAP results kept by layer chain under
 *        {@code work-dir/compliance-results}; 0 keeps none (every image is evaluated)
 * @param complianceStallTimeout how long a first oscap run may use no CPU time before it is killed as hung and run
 *        once more (oscap 1.3.7 sometimes stops mid-run); 0 waits for the run limit
 * @param leftoverAge how old a folder in {@code work-dir} that is not a cache must be before it is removed as the
 *        leftover of a scan whose replica died ({@link ScanLeftovers}); longer than a build's timeout
 * @param layerAuditCache the most bytes (estimated) of layer-audit results kept in memory by diff id and policy
 *        ({@link LayerAuditCache}), so that a layer read once is not read again; 0 keeps none (every scan reads
 *        every layer from {@code docker save})
 * @param registryLayers whether a scan reads only the layers it has not read before, from the image's quarantine
 *        copy in the registry (docs/scanning.md "Reading only the image's own layers"), instead of {@code docker
 *        save} of the whole image
 * @param registryWait how long a scan waits for the quarantine push to end before it reads the image from
 *        {@code docker save} instead
 */
@Validated
@ConfigurationProperties("gateway.scanning")
public record ScanningProperties(
        @NotNull Path workDir,
        @NotNull @DefaultValue("config/compliance") Path complianceContent,
        @DefaultValue("") String complianceProfile,
        @NotNull @DefaultValue("oscap") String oscapCommand,
        @NotNull @DefaultValue("120s") Duration complianceTimeout,
        @NotNull @DefaultValue("30s") Duration complianceTimeoutFloor,
        @NotNull @DefaultValue("60s") Duration complianceTimeoutPerGb,
        @DefaultValue("false") boolean complianceRequired,
        @NotNull @DefaultValue("4GB") DataSize maxImageSize,
        @Positive @DefaultValue("500000") long maxFiles,
        @NotNull @DefaultValue("32MB") DataSize maxMetadataBytes,
        @NotNull @DefaultValue("128MB") DataSize maxMetadataTotal,
        @PositiveOrZero @DefaultValue("3") int maxNesting,
        @NotNull @DefaultValue("10GB") DataSize layerCacheSize,
        @PositiveOrZero @DefaultValue("10000") int complianceCacheEntries,
        @NotNull @DefaultValue("8s") Duration complianceStallTimeout,
        @NotNull @DefaultValue("1h") Duration leftoverAge,
        @NotNull @DefaultValue("64MB") DataSize layerAuditCache,
        @DefaultValue("true") boolean registryLayers,
        @NotNull @DefaultValue("5s") Duration registryWait) {


    public ScanningProperties {
        positive("max-image-size", maxImageSize);
        positive("max-metadata-bytes", maxMetadataBytes);
        positive("max-metadata-total", maxMetadataTotal);
        positive("layer-cache-size", layerCacheSize);
        if (layerAuditCache != null && layerAuditCache.toBytes() < 0) {
            throw new IllegalArgumentException("gateway.scanning.layer-audit-cache must not be negative: "
                    + layerAuditCache);
        }
        if (registryWait != null && registryWait.isNegative()) {
            throw new IllegalArgumentException("gateway.scanning.registry-wait must not be negative: " + registryWait);
        }
        if (complianceTimeoutFloor != null && (complianceTimeoutFloor.isNegative() || complianceTimeoutFloor.isZero())) {
            throw new IllegalArgumentException("gateway.scanning.compliance-timeout-floor must be positive: "
                    + complianceTimeoutFloor);
        }
        if (complianceStallTimeout != null && complianceStallTimeout.isNegative()) {
            throw new IllegalArgumentException("gateway.scanning.compliance-stall-timeout must not be negative: "
                    + complianceStallTimeout);
        }
        if (complianceTimeoutPerGb != null && complianceTimeoutPerGb.isNegative()) {
            throw new IllegalArgumentException("gateway.scanning.compliance-timeout-per-gb must not be negative: "
                    + complianceTimeoutPerGb);
        }
        if (complianceTimeout != null && complianceTimeoutFloor != null
                && complianceTimeout.compareTo(complianceTimeoutFloor) < 0) {
            throw new IllegalArgumentException("gateway.scanning.compliance-timeout (" + complianceTimeout
                    + ") is shorter than gateway.scanning.compliance-timeout-floor (" + complianceTimeoutFloor + ")");
        }
        if (maxMetadataTotal != null && maxMetadataBytes != null
                && maxMetadataTotal.toBytes() < maxMetadataBytes.toBytes()) {
            throw new IllegalArgumentException("gateway.scanning.max-metadata-total (" + maxMetadataTotal
                    + ") is smaller than gateway.scanning.max-metadata-bytes (" + maxMetadataBytes + ")");
        }
    }

    private static void positive(String key, DataSize size) {
        if (size != null && size.toBytes() <= 0) {
            throw new IllegalArgumentException("gateway.scanning." + key + " must be positive: " + size);
        }
    }
}
