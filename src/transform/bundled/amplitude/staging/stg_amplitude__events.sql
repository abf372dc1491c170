-- One row per Amplitude event, typed and deduplicated on uuid. Events without a type or a
-- readable event_time are left out (the source test counts them).
{{ config(materialized='view') }}
with typed as (
  select
    uuid,
    {{ json_text('data', 'event_type') }} as event_type,
    {{ json_text('data', 'user_id') }} as user_id,
    {{ json_text('data', 'device_id') }} as device_id,
    {{ safe_cast(json_text('data', 'event_time'), 'timestamp') }} as event_time,
    {{ safe_cast(json_text('data', 'server_upload_time'), 'timestamp') }} as server_upload_time,
    -- Amplitude marks events outside a session with session_id -1.
    case when {{ safe_cast(json_text('data', 'session_id'), 'bigint') }} > 0 then {{ safe_cast(json_text('data', 'session_id'), 'bigint') }} end as session_id,
    {{ json_text('data', 'platform') }} as platform,
    {{ json_text('data', 'country') }} as country,
    _sluice_loaded_at
  from {{ source('amplitude', 'events') }}
),
ranked as (
  select typed.*, row_number() over (partition by uuid order by _sluice_loaded_at desc) as _row
  from typed
  where uuid is not null and event_type is not null and event_time is not null
)
select uuid, event_type, user_id, device_id, coalesce(user_id, device_id) as actor_id, event_time, server_upload_time, session_id, platform, country
from ranked
where _row = 1
