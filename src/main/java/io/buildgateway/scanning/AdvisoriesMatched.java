package io.buildgateway.scanning;

import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Published in the transaction of an advisory import that made stored images vulnerable: which advisories, and the
 * builds whose images they now affect. The inventory tells the images' owners.
 */
public record AdvisoriesMatched(List<String> advisoryIds, Set<UUID> buildIds) {
}
