-- Actors ranked by contribution events (pushes, pull requests, reviews, issues, comments) across repos.
{{ config(materialized='table') }}
with contributions as (
  select *
  from {{ ref('stg_github__events') }}
  where type not in ('WatchEvent', 'ForkEvent') and actor_login is not null
)
select
  row_number() over (order by count(*) desc, actor_login) as contributor_rank,
  actor_login,
  count(*) as contributions,
  count(case when type = 'PushEvent' then 1 end) as pushes,
  count(case when type = 'PullRequestEvent' then 1 end) as pull_request_events,
  count(case when type in ('PullRequestReviewEvent', 'PullRequestReviewCommentEvent') then 1 end) as reviews,
  count(case when type in ('IssuesEvent', 'IssueCommentEvent') then 1 end) as issue_events,
  count(distinct repo_name) as repos,
  max(created_at) as last_contribution_at
from contributions
group by actor_login
