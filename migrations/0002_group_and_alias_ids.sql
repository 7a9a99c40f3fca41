-- group and alias calls carry one more identifier each: the group an account
-- belongs to, and the earlier id an alias links to the user id.
ALTER TABLE events ADD COLUMN group_id text;
ALTER TABLE events ADD COLUMN previous_id text;

CREATE INDEX events_group_idx ON events (group_id) WHERE group_id IS NOT NULL;
