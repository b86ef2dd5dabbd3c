package io.buildgateway.auth;

import java.util.List;
import org.springframework.data.jpa.repository.JpaRepository;

interface TeamRepository extends JpaRepository<Team, String> {

    List<Team> findAllByOrderByNameAsc();

    /**
     * Inserts the team unless one of that name exists; 1 when inserted. One statement, so two requests creating the
     * same team at once insert it once: with a check and a save (a JPA merge, the id being assigned), the later one
     * could update the row the earlier had just committed and audit team.created a second time.
     */
    @org.springframework.data.jpa.repository.Modifying
    @org.springframework.data.jpa.repository.Query(value = "insert into team (name, description, created_at)"
            + " values (:name, :description, :createdAt) on conflict (name) do nothing", nativeQuery = true)
    int insertIfAbsent(String name, String description, java.time.Instant createdAt);
}
