-- Issue #11: build-arg values are stored and shown only as a digest, unless the policy declares the name public
-- (publicBuildArgs). build.build_args holds what may be shown (public values as given, others as sha256:<hex>);
-- the real values the daemon needs live in build_arg_values only while the build is queued or running: the trigger
-- below clears them whenever a build is written in a final state, whichever code path ends it.
alter table build add column build_arg_values text;   -- JSON object; null once the build has ended

-- Builds still waiting keep their real values; then every stored value becomes its digest (no policy is known here,
-- so no name counts as public; such old builds cannot be rebuilt and must be submitted again).
update build set build_arg_values = build_args where status in ('QUEUED', 'RUNNING');
update build set build_args = coalesce((
        select jsonb_object_agg(key, 'sha256:' || encode(sha256(convert_to(value, 'UTF8')), 'hex'))::text
        from jsonb_each_text(build.build_args::jsonb)), '{}')
    where build_args <> '{}';

create function build_clear_arg_values() returns trigger language plpgsql as $$
begin
    if new.status in ('SUCCEEDED', 'FAILED', 'REJECTED', 'CANCELLED') then
        new.build_arg_values := null;
    end if;
    return new;
end;
$$;

create trigger build_clear_arg_values before insert or update on build
    for each row execute function build_clear_arg_values();
