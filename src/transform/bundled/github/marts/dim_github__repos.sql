-- One row per repository. Contributors are the actors of contribution events: stars (WatchEvent)
-- and forks are not contributions.
{{ config(materialized='table') }}
select
  repo_name,
  count(*) as total_events,
  count(distinct case when type not in ('WatchEvent', 'ForkEvent') then actor_login end) as unique_contributors,
  count(case when type = 'PushEvent' then 1 end) as pushes,
  count(case when type = 'PullRequestEvent' and action = 'opened' then 1 end) as prs_opened,
  count(case when type = 'PullRequestEvent' and action = 'closed' and {{ is_true('pr_merged') }} then 1 end) as prs_merged,
  count(case when type = 'IssuesEvent' and action = 'opened' then 1 end) as issues_opened,
  count(case when type = 'IssuesEvent' and action = 'closed' then 1 end) as issues_closed,
  count(case when type = 'WatchEvent' then 1 end) as stars,
  count(case when type = 'ForkEvent' then 1 end) as forks,
  min(created_at) as first_event_at,
  max(created_at) as last_event_at
from {{ ref('stg_github__events') }}
group by repo_name
