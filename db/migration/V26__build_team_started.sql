-- The claim's order when hosts are isolated by team (BuildRepository.claimCandidates) asks, per queued team, when
-- it last started a build: an index on (team, started_at) answers that from the index's first entry, where the
-- team's index by requested_at read a row per build the team requested that day (thousands for a team that floods).
create index build_team_started on build (team, started_at desc nulls last);
