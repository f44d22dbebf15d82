-- Only events an endpoint may want (stored undispatched) wake the
-- dispatchers of other nodes; the others are stored as dispatched and
-- need no work. Row-level, so the WHEN clause can read the row; identical
-- notifications of one transaction are delivered once.
DROP TRIGGER events_notify ON events;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW WHEN (NOT NEW.dispatched) EXECUTE FUNCTION faos_notify_events();
