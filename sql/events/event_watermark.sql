-- How far one source of request events is complete (no row: nothing known to be complete).
SELECT complete_through
FROM event_watermarks
WHERE source = :source;
