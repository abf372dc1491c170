-- Events per type per day (UTC).
{{ config(materialized='table') }}
select
  cast(created_at as date) as event_date,
  type,
  count(*) as events
from {{ ref('stg_github__events') }}
group by cast(created_at as date), type
