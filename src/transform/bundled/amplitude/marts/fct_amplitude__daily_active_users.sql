-- Active users per day (UTC of event_time): a user is user_id, or the device when it has none.
{{ config(materialized='table') }}
select
  cast(event_time as date) as activity_date,
  count(distinct actor_id) as active_users,
  count(distinct user_id) as identified_users,
  count(*) as events
from {{ ref('stg_amplitude__events') }}
group by cast(event_time as date)
