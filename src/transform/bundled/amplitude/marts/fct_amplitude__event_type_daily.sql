-- Events and users per event type per day.
{{ config(materialized='table') }}
select
  cast(event_time as date) as activity_date,
  event_type,
  count(*) as events,
  count(distinct actor_id) as users
from {{ ref('stg_amplitude__events') }}
group by cast(event_time as date), event_type
