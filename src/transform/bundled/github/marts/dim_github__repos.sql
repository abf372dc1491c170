-- One row per repository. Contributors are the actors of contribution events: stars (WatchEvent)
-- and forks are not contributions.
{{ config(materialized='table') }}
select
  repo_name,
  count(*) as total_events,
  count(distinct case when type not in ('WatchEvent', 'ForkEvent') then actor_login end) as unique_contributors,
  count(*) filter (where type = 'PushEvent') as pushes,
  count(*) filter (where type = 'PullRequestEvent' and action = 'opened') as prs_opened,
  count(*) filter (where type = 'PullRequestEvent' and action = 'closed' and pr_merged) as prs_merged,
  count(*) filter (where type = 'IssuesEvent' and action = 'opened') as issues_opened,
  count(*) filter (where type = 'IssuesEvent' and action = 'closed') as issues_closed,
  count(*) filter (where type = 'WatchEvent') as stars,
  count(*) filter (where type = 'ForkEvent') as forks,
  min(created_at) as first_event_at,
  max(created_at) as last_event_at
from {{ ref('stg_github__events') }}
group by repo_name
