-- The console's audit page (issue 12) filters the log by entity type and action, newest first,
-- and offers the pairs the log holds as choices. One index serves both: a filtered page reads
-- it backwards from the newest matching entry, and the choices are found by skipping from one
-- pair to the next (a recursive query, a few index probes per pair) rather than by reading
-- every entry of a log that only grows.
CREATE INDEX audit_log_entity_action ON audit_log (entity, action, id);
