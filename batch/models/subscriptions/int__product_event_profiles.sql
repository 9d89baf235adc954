/* model
kind = "view"
description = """Each product event with the funnel profile it belongs to. Linking, first rule that matches: the \
event's user_id is a profile id some session has ('user_id'); else its email (lower-cased, trimmed) is a session's \
email ('email'); else its device_id is a session's device ('device_id'). An email or device several profiles share \
links to the profile of the earliest session that has it. An event no rule links has a null profile_id and \
linked_by ''."""
*/
WITH
    profiles AS
    (
        SELECT DISTINCT toNullable(profile_id) AS known_profile_id
        FROM stg_funnel_sessions
        WHERE profile_id IS NOT NULL
    ),
    emails AS
    (
        SELECT email, toNullable(argMin(profile_id, (created_at, session_id))) AS email_profile_id
        FROM stg_funnel_sessions
        WHERE email IS NOT NULL AND profile_id IS NOT NULL
        GROUP BY email
    ),
    devices AS
    (
        SELECT device_id, toNullable(argMin(profile_id, (created_at, session_id))) AS device_profile_id
        FROM stg_funnel_sessions
        WHERE device_id IS NOT NULL AND profile_id IS NOT NULL
        GROUP BY device_id
    )
SELECT
    events.event_key AS event_key,
    events.event_type AS event_type,
    events.event_at AS event_at,
    coalesce(profiles.known_profile_id, emails.email_profile_id, devices.device_profile_id) AS profile_id,
    multiIf(profiles.known_profile_id IS NOT NULL, 'user_id', emails.email_profile_id IS NOT NULL, 'email',
            devices.device_profile_id IS NOT NULL, 'device_id', '') AS linked_by
FROM stg_funnel_product_events AS events
LEFT JOIN profiles ON profiles.known_profile_id = events.user_id
LEFT JOIN emails ON emails.email = events.email
LEFT JOIN devices ON devices.device_id = events.device_id
