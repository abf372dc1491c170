-- One row per session: Amplitude's session_id is the session's start in ms on one device.
{{ config(materialized='table') }}
select
  {{ concat(['device_id', "'-'", 'cast(session_id as varchar)']) }} as session_key,
  session_id,
  device_id,
  max(user_id) as user_id,
  max(actor_id) as actor_id,
  min(event_time) as session_start,
  max(event_time) as session_end,
  count(*) as events
from {{ ref('stg_amplitude__events') }}
where session_id is not null
group by device_id, session_id
