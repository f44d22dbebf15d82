-- Written by the statement that counts requests, so answers need no second
-- read: the limit each counter was last counted against, and how many
-- requests that statement added (requests waiting together are counted
-- by one statement).
ALTER TABLE rate_counters ADD COLUMN allowed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rate_counters ADD COLUMN added INTEGER NOT NULL DEFAULT 0;
