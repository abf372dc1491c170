-- Events per repository per hour (UTC). Incremental: a run recomputes only the hours from the
-- latest one already in the table onwards and replaces those rows (unique_key).
{{ config(materialized='incremental', unique_key=['activity_hour', 'repo_name']) }}
select
  {{ date_trunc('hour', 'created_at') }} as activity_hour,
  repo_name,
  count(*) as events,
  count(distinct actor_login) as actors,
  count(case when type = 'PushEvent' then 1 end) as pushes
from {{ ref('stg_github__events') }}
{% if is_incremental() %}
-- GitHub adds events up to 6 hours late: re-read that margin before the latest hour.
where created_at >= (select {{ dateadd('hour', -6, 'max(activity_hour)') }} from {{ this }})
{% endif %}
group by {{ date_trunc('hour', 'created_at') }}, repo_name
