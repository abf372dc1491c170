-- One row per GitHub event with typed columns. Events that break the contract (no type, repo or
-- created_at, or a created_at that is not a time) are left out here; the warn test on the source
-- (_github__sources.yml) counts them and shows a sample.
{{ config(materialized='view') }}
with typed as (
  select
    id,
    {{ json_text('data', 'type') }} as type,
    {{ json_text('data', 'actor.login') }} as actor_login,
    {{ json_text('data', 'repo.name') }} as repo_name,
    {{ safe_cast(json_text('data', 'created_at'), 'timestamp') }} as created_at,
    {{ json_text('data', 'payload.action') }} as action,
    {{ as_boolean("coalesce(" ~ json_text('data', 'payload.pull_request.merged') ~ ", 'false') = 'true'") }} as pr_merged,
    {{ json_text('data', 'org.login') }} as org_login,
    _sluice_loaded_at
  from {{ source('github', 'events') }}
),
ranked as (
  select typed.*, row_number() over (partition by id order by _sluice_loaded_at desc) as _row
  from typed
  where id is not null and type is not null and repo_name is not null and created_at is not null
)
select id, type, actor_login, repo_name, created_at, action, pr_merged, org_login
from ranked
where _row = 1
