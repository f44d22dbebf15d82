-- The limit each counter was last counted against, written by the same
-- statement that counts a request, so the answer's headers need no second
-- read of the plan.
ALTER TABLE rate_counters ADD COLUMN allowed INTEGER NOT NULL DEFAULT 0;
