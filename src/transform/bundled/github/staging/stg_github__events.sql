-- One row per GitHub event with typed columns. Events that break the contract (no type, repo or
-- created_at, or a created_at that is not a time) are left out here; the warn test on the source
-- (_github__sources.yml) counts them and shows a sample.
{{ config(materialized='view') }}
with typed as (
  select
    id,
    data->>'type' as type,
    data->'actor'->>'login' as actor_login,
    data->'repo'->>'name' as repo_name,
    {{ safe_cast("data->>'created_at'", 'timestamp') }} as created_at,
    data->'payload'->>'action' as action,
    coalesce(data->'payload'->'pull_request'->>'merged', 'false') = 'true' as pr_merged,
    data->'org'->>'login' as org_login,
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
