package io.buildgateway.hostpool;

import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which queued build goes to which fixed host when a host runs builds of one team at a time
 * ({@code gateway.hostpool.team-isolation}; docs/security.md, "One team per host at a time"). A pure decision
 * over the claim's view (under the scheduling lock): the queued builds' teams in the queue's fair order and, per
 * healthy host, its capacity and how many builds of which team run there.
 *
 * <p>The rule: a build goes to a host with a free slot that runs builds of its own team only, or none. Among those,
 * a host already running the team comes first (packing one team's builds together keeps the other hosts free for
 * other teams), then the least loaded, then the pool's order. A build that finds no such host waits; the queue's
 * order still holds, without starvation: a team that waits and runs nowhere <em>reserves</em> the host that will
 * drain soonest by count (fewest running builds, then the pool's order), and no build of a team later in the order
 * (its current occupant's team included) is placed on a reserved host. Its builds end, nothing joins them, and the
 * host is the waiting team's. So a flood of one team's builds can delay another team by at most the running builds of
 * one host, as the fair order alone does for a slot.
 */
public final class TeamPlacement {

    private TeamPlacement() {
    }

    /**
     * A healthy fixed host as the claim sees it: its capacity, and its running builds by team.
     *
     * @param name the host's name
     * @param capacity builds it runs at once
     * @param running its running builds by team (the build row's team)
     */
    public record Load(String name, int capacity, Map<String, Integer> running) {

        public Load {
            running = Map.copyOf(running);
        }

        int total() {
            return running.values().stream().mapToInt(Integer::intValue).sum();
        }

        /** Whether it runs builds of a team other than {@code team}. */
        boolean runsOtherThan(String team) {
            return running.entrySet().stream().anyMatch(e -> e.getValue() > 0 && !e.getKey().equals(team));
        }

        boolean runs(String team) {
            return running.getOrDefault(team, 0) > 0;
        }
    }

    /**
     * The chosen build: {@code candidate} is its index in the claim's list of queued builds' teams, {@code host} the
     * host it goes to, {@code take} how many of that team's queued builds the claim takes for it at once: the host's
     * capacity when it runs nothing now (its turn goes to this team), else one. Claimed one at a time, the next
     * claim's first waiting team would keep the turned host after its first build (it drains soonest), so with more
     * teams queueing than hosts each turn ran one build: a host of 4 at a quarter of its capacity (a review's find,
     * 2026-12-07). Taken at once, a turn is a host's worth of one team's builds, then the next waiting team's.
     */
    public record Placement(int candidate, String host, int take) {

        public Placement(int candidate, String host) {
            this(candidate, host, 1);
        }
    }

    /**
     * The first of {@code teams} (the queued builds' teams in the queue's fair order; a team may come more than once)
     * that a host admits, and that host; empty when none may start now. {@code hosts} are the healthy hosts in the
     * pool's order.
     */
    public static Optional<Placement> place(List<String> teams, List<Load> hosts) {
        Set<String> reserved = new HashSet<>();
        Set<String> waiting = new HashSet<>();
        for (int i = 0; i < teams.size(); i++) {
            String team = teams.get(i);
            if (waiting.contains(team)) {
                continue; // an earlier build of the team found no host: no later one of it finds one either
            }
            Optional<Load> admits = hosts.stream()
                    .filter(h -> !reserved.contains(h.name()))
                    .filter(h -> h.total() < h.capacity() && !h.runsOtherThan(team))
                    .min(Comparator.comparing((Load h) -> !h.runs(team))
                            .thenComparingDouble(h -> (double) h.total() / h.capacity())
                            .thenComparingInt(hosts::indexOf));
            if (admits.isPresent()) {
                Load host = admits.get();
                return Optional.of(new Placement(i, host.name(), host.total() == 0 ? host.capacity() : 1));
            }
            waiting.add(team);
            boolean runsSomewhere = hosts.stream().anyMatch(h -> !reserved.contains(h.name()) && h.runs(team));
            if (!runsSomewhere) {
                // Its own host, when it has one, frees a slot as one of its builds ends; without one, the host
                // another team holds that drains soonest is kept for it.
                hosts.stream()
                        .filter(h -> !reserved.contains(h.name()) && h.runsOtherThan(team))
                        .min(Comparator.comparingInt(Load::total).thenComparingInt(hosts::indexOf))
                        .ifPresent(h -> reserved.add(h.name()));
            }
        }
        return Optional.empty();
    }
}
